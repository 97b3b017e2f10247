/**
 * The Deno KV data store. Keys, below `prefix` (default `["data"]`):
 *
 * - `out, <id>` → the record's `BlobRef` (an event may be large);
 * - `latest, <producer>` → the id of the producer's newest record;
 * - `at, <created_at>, <id>` → empty: records by age, for retention;
 * - `aged` → how far the records written before the `at` key existed have been
 *   given one (`{cursor}`, or `{done: true}`); retention does that first, a
 *   batch at a time;
 * - `blob, …` → chunks (store/kv_blob.ts).
 *
 * @module
 */
import type { DataStore, StoredOutput } from "./data_store.ts";
import { deleteJson, getJson, putJson } from "./_kv_json.ts";
import { retryKvLocked } from "./kv_retry.ts";

/** The value of an `at` key (only the key matters). */
const AGED = new Uint8Array(0);

/** Options of {@link createKvDataStore}. */
export interface KvDataStoreOptions {
  /** Key prefix of every entry. Default `["data"]`. */
  prefix?: Deno.KvKey;
}

/** Creates a {@link DataStore} on `kv`. The caller owns `kv` and closes it. */
export function createKvDataStore(kv: Deno.Kv, options: KvDataStoreOptions = {}): DataStore {
  const { prefix = ["data"] } = options;
  const blobs: Deno.KvKey = [...prefix, "blob"];
  const outKey = (id: string): Deno.KvKey => [...prefix, "out", id];
  const latestKey = (producer: string): Deno.KvKey => [...prefix, "latest", producer];
  const getOutput = (id: string) => getJson<StoredOutput>(kv, outKey(id), blobs);
  const agedKey: Deno.KvKey = [...prefix, "aged"];
  const ageKey = (
    record: StoredOutput,
  ): Deno.KvKey => [...prefix, "at", record.created_at, record.id];
  /** True once every record has its `at` key (this process saw `aged` done). */
  let allAged = false;

  /**
   * Gives up to `limit` records the `at` key they lack (written by a build that
   * had none), resuming where the last call stopped; a record that has one is
   * only read.
   */
  async function ageOld(limit: number): Promise<void> {
    if (allAged) return;
    const mark = await kv.get<{ cursor?: string; done?: boolean }>(agedKey);
    if (mark.value?.done) {
      allAged = true;
      return;
    }
    const outs = kv.list({ prefix: [...prefix, "out"] }, { limit, cursor: mark.value?.cursor });
    let seen = 0;
    for await (const { key } of outs) {
      seen++;
      const id = key.at(-1);
      const record = typeof id === "string" ? await getOutput(id) : undefined;
      if (record && (await kv.get(ageKey(record))).versionstamp === null) {
        await kv.set(ageKey(record), AGED);
      }
    }
    const next = seen < limit || outs.cursor === "" ? { done: true } : { cursor: outs.cursor };
    await kv.set(agedKey, next);
    allAged = next.done === true;
  }

  return {
    async putOutput(record) {
      // the record and the producer's latest pointer move in one commit
      await putJson(kv, outKey(record.id), blobs, record, {
        extra: (op) =>
          op.set(latestKey(record.producer_agent), record.id)
            .set(ageKey(record), AGED),
      });
    },
    getOutput,
    async latestByProducer(name) {
      const { value } = await kv.get<string>(latestKey(name));
      return value === null ? undefined : await getOutput(value);
    },
    async pruneBefore(before, limit) {
      await ageOld(limit);
      let pruned = 0;
      const aged = kv.list({ start: [...prefix, "at"], end: [...prefix, "at", before] }, { limit });
      for await (const { key } of aged) {
        const id = key.at(-1);
        if (typeof id !== "string") continue;
        const record = await getOutput(id);
        await deleteJson(kv, outKey(id), blobs);
        if (record) {
          // the producer's pointer goes only while it still names this record
          const latest = await kv.get<string>(latestKey(record.producer_agent));
          if (latest.value === id) {
            await retryKvLocked(() => kv.atomic().check(latest).delete(latest.key).commit());
          }
        }
        await kv.delete(key);
        pruned++;
      }
      return pruned;
    },
  };
}
