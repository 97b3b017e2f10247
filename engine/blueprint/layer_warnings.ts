/**
 * The warnings of a registration (reference/blueprint.md §1.7): `spawner_hints.layers`
 * keys that no layer answers to are skipped at run time, and a key listed twice
 * wraps twice. Both are kept as 0.1.2 has them; registration names them.
 *
 * @module
 */
import { HINT_LAYERS } from "../layers.ts";

/**
 * One text per unknown or repeated key of `layers`, in their order (empty when all is
 * well).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { layerWarnings } from "./layer_warnings.ts";
 * assert.deepEqual(layerWarnings(["main_ai"]), []);
 * assert.equal(layerWarnings(["mainai"]).length, 1);
 * ```
 */
export function layerWarnings(layers: readonly string[]): string[] {
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const [i, key] of layers.entries()) {
    const known = Object.hasOwn(HINT_LAYERS, key);
    if (!known) {
      warnings.push(
        `spawner_hints.layers[${i}]: unknown layer '${key}' is ignored (known: ${
          Object.keys(HINT_LAYERS).join(", ")
        })`,
      );
    } else if (seen.has(key)) {
      warnings.push(`spawner_hints.layers[${i}]: layer '${key}' is listed again and wraps twice`);
    }
    seen.add(key);
  }
  return warnings;
}
