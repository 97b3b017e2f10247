/**
 * Strict semantic versions and Cargo-style version requirements, used to resolve
 * `semver_req` Blueprint selectors against `metadata.version_label`
 * (reference/blueprint.md §4.4).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchesReq, parseSemver, parseSemverReq } from "./mod.ts";
 * assert.equal(matchesReq(parseSemverReq("^1.2"), parseSemver("1.9.0")), true);
 * assert.equal(matchesReq(parseSemverReq("^1.2"), parseSemver("2.0.0")), false);
 * ```
 *
 * @module
 */
export {
  compareSemver,
  formatSemver,
  isSemver,
  parseSemver,
  parseSemverStrict,
  type SemVer,
  SemverSyntaxError,
} from "./version.ts";
export {
  matchesReq,
  parseSemverReq,
  parseSemverReqStrict,
  type SemverComparator,
  type SemverOp,
  type SemverReq,
} from "./req.ts";
