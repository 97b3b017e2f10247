/**
 * The Deno KV Blueprint store. Several processes may share the KV, so nothing is
 * cached: every read goes to KV. Compare-and-append is an atomic commit checked
 * against the versionstamp of the series record, retried on contention.
 *
 * Keys, below `prefix` (default `["blueprints"]`):
 *
 * - `series, <id>` → {@link SeriesRecord}: last commit number, head, archived;
 * - `commit, <id>, <n>` → {@link CommitRecord}, n = 1, 2, … (no body);
 * - `version, <id>, <version>` → the body's `BlobRef`, written once;
 * - `blob, …` → chunks of bodies too large to keep inline (store/kv_blob.ts).
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import {
  type BlueprintStore,
  type BlueprintStoreOptions,
  checkWriteInput,
  clampLimit,
  type HistoryEntry,
  type SeriesInfo,
  StoreError,
  type WriteResult,
} from "./blueprint_store.ts";
import { type BlobRef, deleteBlob, getBlob, putBlob } from "./kv_blob.ts";
import { retryKvLocked } from "./kv_retry.ts";

/** The per-id record every compare-and-append checks. */
export interface SeriesRecord {
  /** Number of the newest commit of any kind. */
  seq: number;
  head: string;
  archived: boolean;
}

/** One commit as stored. */
export type CommitRecord =
  | ({ kind: "content" } & HistoryEntry)
  | { kind: "archive" | "unarchive"; ts_ms: number };

/** Options of {@link createKvBlueprintStore}. */
export interface KvBlueprintStoreOptions extends BlueprintStoreOptions {
  /** Key prefix of every entry. Default `["blueprints"]`. */
  prefix?: Deno.KvKey;
}

/** Attempts of one compare-and-append before giving up under contention. */
const MAX_ATTEMPTS = 100;

/** Creates a {@link BlueprintStore} on `kv`. The caller owns `kv` and closes it. */
export function createKvBlueprintStore(
  kv: Deno.Kv,
  options: KvBlueprintStoreOptions = {},
): BlueprintStore {
  const { now = Date.now, prefix = ["blueprints"] } = options;
  const seriesKey = (id: string): Deno.KvKey => [...prefix, "series", id];
  const commitKey = (id: string, n: number): Deno.KvKey => [...prefix, "commit", id, n];
  const versionKey = (id: string, v: string): Deno.KvKey => [...prefix, "version", id, v];
  const blobPrefix: Deno.KvKey = [...prefix, "blob"];

  async function body(id: string, version: string, ref: BlobRef | null): Promise<BlueprintNorm> {
    if (ref === null) throw StoreError.notFound(id, version);
    // the store only ever writes normalized Blueprints under a version key
    return await getBlob(kv, blobPrefix, ref) as BlueprintNorm;
  }

  async function appendMarker(id: string, archive: boolean): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const series = await kv.get<SeriesRecord>(seriesKey(id));
      if (series.value === null) throw StoreError.idNotFound(id);
      const seq = series.value.seq + 1;
      const marker: CommitRecord = { kind: archive ? "archive" : "unarchive", ts_ms: now() };
      const op = kv.atomic()
        .check(series)
        .set(commitKey(id, seq), marker)
        .set(seriesKey(id), { ...series.value, seq, archived: archive });
      const res = await retryKvLocked(() => op.commit());
      if (res.ok) return;
    }
    throw contention(id);
  }

  return {
    kind: "kv",

    async readHead(id) {
      const series = (await kv.get<SeriesRecord>(seriesKey(id))).value;
      if (series === null) throw StoreError.headEmpty(id);
      if (series.archived) throw StoreError.archived(id);
      const ref = (await kv.get<BlobRef>(versionKey(id, series.head))).value;
      return { id, version: series.head, blueprint: await body(id, series.head, ref) };
    },

    async readVersion(id, version, { allowArchived = false } = {}) {
      const v = version.toLowerCase();
      const [series, ref] = await kv.getMany<[SeriesRecord, BlobRef]>([
        seriesKey(id),
        versionKey(id, v),
      ]);
      if (series.value === null) throw StoreError.notFound(id, v);
      if (series.value.archived && !allowArchived) throw StoreError.archived(id);
      return { id, version: v, blueprint: await body(id, v, ref.value) };
    },

    async write(id, input): Promise<WriteResult> {
      checkWriteInput(id, input);
      const { version, blueprint } = input;
      let fresh: BlobRef | undefined; // a body this call wrote and has not committed yet
      try {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          const [series, stored] = await kv.getMany<[SeriesRecord, BlobRef]>([
            seriesKey(id),
            versionKey(id, version),
          ]);
          if (series.value?.archived) throw StoreError.archived(id);
          if (series.value?.head === version) return { version, written: false };
          const seq = (series.value?.seq ?? 0) + 1;
          const entry: CommitRecord = {
            kind: "content",
            version,
            parents: series.value === null ? [] : [series.value.head],
            ts_ms: now(),
            rationale: input.rationale ?? "seed",
            version_label: blueprint.metadata.version_label ?? null,
          };
          const op = kv.atomic().check(series);
          if (stored.value === null) {
            fresh ??= await putBlob(kv, blobPrefix, blueprint);
            op.check(stored).set(versionKey(id, version), fresh);
          }
          const next: SeriesRecord = { seq, head: version, archived: false };
          op.set(commitKey(id, seq), entry).set(seriesKey(id), next);
          const res = await retryKvLocked(() => op.commit());
          if (res.ok) {
            if (stored.value === null) fresh = undefined; // now referenced
            return { version, written: true };
          }
        }
        throw contention(id);
      } finally {
        if (fresh !== undefined) await deleteBlob(kv, blobPrefix, fresh);
      }
    },

    async history(id, limit) {
      const max = clampLimit(limit);
      const out: HistoryEntry[] = [];
      if (max === 0) return out;
      const iter = kv.list<CommitRecord>({ prefix: [...prefix, "commit", id] }, {
        reverse: true,
        batchSize: Math.min(500, max + 8),
      });
      for await (const { value } of iter) {
        if (value.kind !== "content") continue;
        const { kind: _, ...entry } = value;
        out.push(entry);
        if (out.length === max) break;
      }
      return out;
    },

    async info(id) {
      const series = (await kv.get<SeriesRecord>(seriesKey(id))).value;
      return series === null ? null : { id, head: series.head, archived: series.archived };
    },

    async listIds({ includeArchived = false } = {}) {
      const out: SeriesInfo[] = [];
      for await (const { key, value } of kv.list<SeriesRecord>({ prefix: [...prefix, "series"] })) {
        const id = key.at(-1);
        if (typeof id !== "string" || (value.archived && !includeArchived)) continue;
        out.push({ id, head: value.head, archived: value.archived });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    archive(id) {
      return appendMarker(id, true);
    },

    unarchive(id) {
      return appendMarker(id, false);
    },
  };
}

function contention(id: string): SwitchboardError {
  return new SwitchboardError("conflict", `blueprint ${id} lock busy; retry`);
}
