/**
 * A read cache in front of a Blueprint store that only this process writes (a
 * KV file has one owner): heads and versions read once are answered from memory
 * until the series is written, archived or unarchived through the cache. Each
 * `POST /v1/tasks` on a stored Blueprint reads its head; on a KV file those reads
 * would otherwise wait behind the run store's commit in flight.
 *
 * @module
 */
import { type BlueprintStore, copyOnRead, type StoredBlueprint } from "./blueprint_store.ts";

/** What a caller gets: its own copy, made when it first reads `blueprint`. */
function copy(stored: StoredBlueprint): StoredBlueprint {
  return copyOnRead(stored.id, stored.version, stored.blueprint);
}

/** Cached reads per series (all forgotten when more series are cached). */
const MAX_SERIES = 1024;

/** Wraps `store` with a read cache; writes go through and drop their series' entries. */
export function cachedBlueprintStore(store: BlueprintStore): BlueprintStore {
  const heads = new Map<string, Promise<StoredBlueprint>>();
  const versions = new Map<string, Map<string, Promise<StoredBlueprint>>>();
  const forget = (id: string) => {
    heads.delete(id);
    versions.delete(id);
  };
  /** A read that is cached while it succeeds (a failure is not kept). */
  const remember = <K>(
    map: Map<K, Promise<StoredBlueprint>>,
    key: K,
    read: () => Promise<StoredBlueprint>,
  ) => {
    const known = map.get(key);
    if (known) return known;
    const reading = read();
    map.set(key, reading);
    reading.catch(() => {
      if (map.get(key) === reading) map.delete(key);
    });
    return reading;
  };
  return {
    kind: store.kind,
    readHead(id) {
      if (heads.size >= MAX_SERIES) heads.clear();
      return remember(heads, id, () => store.readHead(id)).then(copy);
    },
    readVersion(id, version, options) {
      if (options?.allowArchived) return store.readVersion(id, version, options);
      if (versions.size >= MAX_SERIES) versions.clear();
      let byVersion = versions.get(id);
      if (!byVersion) versions.set(id, byVersion = new Map());
      const key = version.toLowerCase();
      return remember(byVersion, key, () => store.readVersion(id, version, options)).then(copy);
    },
    async write(id, input) {
      forget(id);
      try {
        return await store.write(id, input);
      } finally {
        forget(id); // a read that raced the write is not kept
      }
    },
    history: (id, limit) => store.history(id, limit),
    info: (id) => store.info(id),
    listIds: (options) => store.listIds(options),
    async archive(id) {
      forget(id);
      try {
        await store.archive(id);
      } finally {
        forget(id);
      }
    },
    async unarchive(id) {
      forget(id);
      try {
        await store.unarchive(id);
      } finally {
        forget(id);
      }
    },
  };
}
