/**
 * The seed Blueprint written at boot (reference/http.md §1.3, blueprint.md §4.7).
 *
 * @module
 */
import type { BlueprintNorm } from "../../protocol/blueprint.ts";
import type { BlueprintStore, WriteResult } from "../../store/blueprint_store.ts";
import { normalizeBlueprint } from "./normalize.ts";
import { blueprintVersion } from "./version.ts";

/**
 * The seed: one `identity` agent (`rust_fn`, `fn_id` `identity`) and one step that
 * sends the literal `"hello"` and writes the answer at `$.out`.
 */
export function seedBlueprint(id = "main"): BlueprintNorm {
  return normalizeBlueprint({
    id,
    flow: {
      kind: "step",
      ref: "identity",
      in: { op: "lit", value: "hello" },
      out: { op: "path", at: "$.out" },
    },
    agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
    metadata: { description: "mse serve enhance seed", version_label: "0.1.0" },
  });
}

/**
 * Writes the seed under `id` (rationale `seed`) when the series has no commits at
 * all; an archived or changed series is left alone (fixes the boot panic of 0.1.2).
 */
export async function ensureSeed(store: BlueprintStore, id = "main"): Promise<WriteResult | null> {
  if ((await store.info(id)) !== null) return null;
  const blueprint = seedBlueprint(id);
  const version = await blueprintVersion(blueprint);
  return await store.write(id, { version, blueprint, rationale: "seed" });
}
