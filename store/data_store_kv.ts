/**
 * The Deno KV data store. Keys, below `prefix` (default `["data"]`):
 *
 * - `out, <id>` → the record's `BlobRef` (an event may be large);
 * - `latest, <producer>` → the id of the producer's newest record;
 * - `at, <created_at>, <id>` → empty: records by age, for retention (records
 *   written before this key existed have none and stay);
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
  return {
    async putOutput(record) {
      // the record and the producer's latest pointer move in one commit
      await putJson(kv, outKey(record.id), blobs, record, {
        extra: (op) =>
          op.set(latestKey(record.producer_agent), record.id)
            .set([...prefix, "at", record.created_at, record.id], AGED),
      });
    },
    getOutput,
    async latestByProducer(name) {
      const { value } = await kv.get<string>(latestKey(name));
      return value === null ? undefined : await getOutput(value);
    },
    async pruneBefore(before, limit) {
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
