/**
 * Blueprints: the document pipeline (parse, compile, normalize, static checks),
 * versions, the seed, registration and resolution of stored references
 * (reference/blueprint.md §1, §4; SPEC §6).
 *
 * @example Normalize, version and resolve
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryBlueprintStore } from "../../store/blueprint_store_memory.ts";
 * import { registerBlueprint, resolveBlueprint } from "./mod.ts";
 * const store = createMemoryBlueprintStore();
 * const body = {
 *   id: "greet",
 *   flow: { kind: "step", ref: "greeter", in: "$.request", out: "$.result" },
 *   agents: [{ name: "greeter", kind: "rust_fn", spec: { fn_id: "identity" } }],
 *   metadata: { version_label: "1.0.0" },
 * };
 * const first = await registerBlueprint(store, "greet", body);
 * assert.equal(first.seeded, true);
 * assert.equal((await registerBlueprint(store, "greet", body)).seeded, false);
 * const { version } = await resolveBlueprint(store, { id: "greet" });
 * assert.equal(version, first.version);
 * ```
 *
 * @module
 */
export {
  MAX_BLUEPRINT_BYTES,
  normalizeBlueprint,
  type NormalizeOptions,
  validateBlueprintId,
} from "./normalize.ts";
export { checkAskSchemas } from "./ask_schemas.ts";
export { blueprintIssues } from "./_issues.ts";
export { blueprintVersion, canonicalBlueprintJson } from "./version.ts";
export { ensureSeed, seedBlueprint } from "./seed.ts";
export { registerBlueprint, type RegisterOptions, type RegisterResult } from "./register.ts";
export { resolveBlueprint, type ResolvedBlueprint, type ResolveOptions } from "./resolve.ts";
