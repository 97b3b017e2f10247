/**
 * Registration of a Blueprint under an id (`POST /v1/blueprints/:id`,
 * reference/blueprint.md §4.5): the checks in the reference's order, then one
 * compare-and-append.
 *
 * @module
 */
import { checkAskSchemas } from "./ask_schemas.ts";
import { SwitchboardError } from "../../protocol/errors.ts";
import { type BlueprintStore, isStoreError } from "../../store/blueprint_store.ts";
import { normalizeBlueprint, type NormalizeOptions, validateBlueprintId } from "./normalize.ts";
import { blueprintVersion } from "./version.ts";
import { layerWarnings } from "./layer_warnings.ts";
import { throwFindings } from "./_findings.ts";
import { strictWireFindings } from "./strict_wire.ts";

/** Options of {@link registerBlueprint}. */
export interface RegisterOptions extends NormalizeOptions {
  /** The commit rationale. Default `seed`, as 0.1.2's HTTP registration writes. */
  rationale?: string;
  /** Refuses what 0.1.2 cannot run: extension operators and `ask` nodes (422). */
  strictWire?: boolean;
}

/**
 * The registration answer: `seeded` is false when the content equalled the head (200, not
 * 201); `warnings` only when there are some (reference/blueprint.md §1.7).
 */
export interface RegisterResult {
  id: string;
  version: string;
  seeded: boolean;
  warnings?: string[];
}

function bodyId(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  return Object.hasOwn(body, "id") ? (body as { id: unknown }).id : undefined; // own key, checked
}

/**
 * Normalizes `body` and appends it to series `id` unless it equals the head.
 *
 * Throws `SwitchboardError`:
 * - `bad_request` `invalid blueprint id` for a bad URL id or `body.id`;
 * - `invalid` (422) `blueprint parse: …` / `blueprint invalid: …` (see `normalizeBlueprint`);
 * - `bad_request` `path id=<id> != body.id=<body id>`;
 * - `conflict` `blueprint <id> is archived; POST /v1/blueprints/<id>/unarchive first`.
 */
export async function registerBlueprint(
  store: BlueprintStore,
  id: string,
  body: unknown,
  options: RegisterOptions = {},
): Promise<RegisterResult> {
  const sent = bodyId(body);
  if (!validateBlueprintId(id) || (typeof sent === "string" && !validateBlueprintId(sent))) {
    throw new SwitchboardError("bad_request", "invalid blueprint id");
  }
  const blueprint = normalizeBlueprint(body, options);
  if (blueprint.id !== id) {
    throw new SwitchboardError("bad_request", `path id=${id} != body.id=${blueprint.id}`);
  }
  if (options.strictWire) throwFindings("blueprint invalid", strictWireFindings(blueprint));
  await checkAskSchemas(blueprint);
  const version = await blueprintVersion(blueprint);
  try {
    const { written } = await store.write(id, { version, blueprint, rationale: options.rationale });
    const warnings = layerWarnings(blueprint.spawner_hints.layers);
    return warnings.length
      ? { id, version, seeded: written, warnings }
      : { id, version, seeded: written };
  } catch (err) {
    if (!isStoreError(err, "archived")) throw err;
    throw new SwitchboardError(
      "conflict",
      `blueprint ${id} is archived; POST /v1/blueprints/${id}/unarchive first`,
      { cause: err },
    );
  }
}
