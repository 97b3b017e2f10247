/**
 * The Deno KV data store. Keys, below `prefix` (default `["data"]`):
 *
 * - `out, <id>` → the record's `BlobRef` (an event may be large);
 * - `latest, <producer>` → the id of the producer's newest record;
 * - `blob, …` → chunks (store/kv_blob.ts).
 *
 * @module
 */
import type { DataStore, StoredOutput } from "./data_store.ts";
import { getJson, putJson } from "./_kv_json.ts";

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
  const getOutput = (id: string) => getJson<StoredOutput>(kv, outKey(id), blobs);
  return {
    async putOutput(record) {
      // the record and the producer's latest pointer move in one commit
      await putJson(kv, outKey(record.id), blobs, record, {
        extra: (op) => op.set([...prefix, "latest", record.producer_agent], record.id),
      });
    },
    getOutput,
    async latestByProducer(name) {
      const { value } = await kv.get<string>([...prefix, "latest", name]);
      return value === null ? undefined : await getOutput(value);
    },
  };
}
