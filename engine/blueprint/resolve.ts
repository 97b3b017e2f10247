/**
 * Resolves a stored Blueprint reference `{id, version?}` to one commit
 * (reference/blueprint.md §4.4, §4.6): `latest` (the default), `fixed` or
 * `semver_req`. Every selector fails on an archived series.
 *
 * @module
 */
import type { BlueprintNorm, VersionSelector } from "../../protocol/blueprint.ts";
import {
  type BlueprintStore,
  HISTORY_MAX,
  type StoredBlueprint,
  StoreError,
} from "../../store/blueprint_store.ts";
import {
  compareSemver,
  matchesReq,
  parseSemverReq,
  parseSemverStrict,
  type SemVer,
  SemverSyntaxError,
} from "../semver/mod.ts";

/** A resolved reference: the Blueprint and the version that names it (`bound_version`). */
export interface ResolvedBlueprint {
  blueprint: BlueprintNorm;
  version: string;
}

/** Options of {@link resolveBlueprint}. */
export interface ResolveOptions {
  /** Receives a warning for each stored `version_label` that is not semver. Default `console.warn`. */
  warn?: (message: string) => void;
}

async function pickSemver(
  store: BlueprintStore,
  id: string,
  req: string,
  warn: (message: string) => void,
): Promise<StoredBlueprint> {
  const requirement = parseSemverReq(req);
  if ((await store.info(id))?.archived) throw StoreError.archived(id);
  let best: { version: string; semver: SemVer } | undefined;
  for (const entry of await store.history(id, HISTORY_MAX)) {
    if (entry.version_label === null) continue;
    let semver: SemVer;
    try {
      semver = parseSemverStrict(entry.version_label);
    } catch (err) {
      if (!(err instanceof SemverSyntaxError)) throw err;
      warn(
        `blueprint ${id} version ${entry.version}: skipping invalid semver version_label ` +
          `"${entry.version_label}": ${err.detail}`,
      );
      continue;
    }
    if (!matchesReq(requirement, semver)) continue;
    // history runs newest first, so on equal precedence the newest stays
    if (best === undefined || compareSemver(semver, best.semver) > 0) {
      best = { version: entry.version, semver };
    }
  }
  if (best === undefined) throw StoreError.noMatch(id, req);
  return await store.readVersion(id, best.version);
}

/**
 * Resolves `ref` against `store`.
 *
 * Rejects with `StoreError`: `head_empty` (`store: head ref empty: id=<id>`),
 * `archived` (`store: blueprint is archived: id=<id>`), `not_found`
 * (`store: blueprint not found: id=<id> version=<hex>`) or `no_match`
 * (`no version matches semver req: <req>`); and with `SwitchboardError`
 * (`bad_request`) for a malformed semver requirement.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryBlueprintStore } from "../../store/blueprint_store_memory.ts";
 * import { ensureSeed } from "./seed.ts";
 * import { resolveBlueprint } from "./resolve.ts";
 * const store = createMemoryBlueprintStore();
 * await ensureSeed(store);
 * const { blueprint } = await resolveBlueprint(store, {
 *   id: "main",
 *   version: { kind: "semver_req", req: "^0.1" },
 * });
 * assert.equal(blueprint.metadata.version_label, "0.1.0");
 * ```
 */
export async function resolveBlueprint(
  store: BlueprintStore,
  ref: { id: string; version?: VersionSelector },
  options: ResolveOptions = {},
): Promise<ResolvedBlueprint> {
  const { warn = (message: string) => console.warn(message) } = options;
  const selector = ref.version ?? { kind: "latest" };
  let stored: StoredBlueprint;
  switch (selector.kind) {
    case "latest":
      stored = await store.readHead(ref.id);
      break;
    case "fixed":
      stored = await store.readVersion(ref.id, selector.value.toLowerCase());
      break;
    case "semver_req":
      stored = await pickSemver(store, ref.id, selector.req, warn);
      break;
  }
  // `blueprint` is read when asked for: a store may copy it only then
  return {
    get blueprint() {
      return stored.blueprint;
    },
    version: stored.version,
  };
}
