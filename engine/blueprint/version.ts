/**
 * The version of a normalized Blueprint (SPEC §6): lowercase hex SHA-256 of its
 * RFC 8785 (JCS) canonical JSON.
 *
 * @module
 */
import canonicalize from "canonicalize";
import type { BlueprintNorm } from "../../protocol/blueprint.ts";
import { SwitchboardError } from "../../protocol/errors.ts";

/** The RFC 8785 canonical JSON text of a normalized Blueprint. */
export function canonicalBlueprintJson(bp: BlueprintNorm): string {
  const text = canonicalize(bp);
  if (text === undefined) throw new SwitchboardError("internal", "bp version: not a JSON value");
  return text;
}

/**
 * The version of `bp`: 64 lowercase hex characters. Equal documents (after
 * normalization) have equal versions, whatever their key order.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { blueprintVersion } from "./version.ts";
 * import { seedBlueprint } from "./seed.ts";
 * assert.match(await blueprintVersion(seedBlueprint()), /^[0-9a-f]{64}$/);
 * ```
 */
export async function blueprintVersion(bp: BlueprintNorm): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalBlueprintJson(bp));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
