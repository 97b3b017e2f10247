/**
 * The data path's output records (`/v1/data/*`), indexed by id and by producer
 * (latest wins).
 *
 * @module
 */
import type { OutputRecord } from "../protocol/worker.ts";

/** A stored output record with the run it came from. */
export interface StoredOutput extends OutputRecord {
  run_id?: string;
  created_at: number;
}

/** Where data-path records live. */
export interface DataStore {
  putOutput(record: StoredOutput): Promise<void>;
  getOutput(id: string): Promise<StoredOutput | undefined>;
  /** The most recently written record of a producer, across all runs. */
  latestByProducer(name: string): Promise<StoredOutput | undefined>;
  /**
   * Deletes up to `limit` records written before `before` (ms), oldest first; a
   * producer whose latest record goes has none. Resolves with how many (retention).
   */
  pruneBefore(before: number, limit: number): Promise<number>;
}

/** Records an in-memory data store keeps; the oldest are dropped first. */
export const MEMORY_DATA_MAX = 10_000;
/** Bytes of records (their JSON text) an in-memory data store keeps. */
export const MEMORY_DATA_BYTES_MAX = 256 * 1024 * 1024;

/**
 * A data store in memory, bounded like the in-memory run store: past `max`
 * records or `maxBytes` of them, the oldest are dropped (a worker emitting in a
 * loop cannot grow the server without end).
 */
export function createMemoryDataStore(
  max = MEMORY_DATA_MAX,
  maxBytes = MEMORY_DATA_BYTES_MAX,
): DataStore {
  /** Records in the order they were written (a Map keeps insertion order), with their bytes. */
  const byId = new Map<string, { record: StoredOutput; bytes: number }>();
  const latest = new Map<string, string>();
  let bytes = 0;
  const drop = (id: string) => {
    const held = byId.get(id);
    if (!held) return;
    byId.delete(id);
    bytes -= held.bytes;
    if (latest.get(held.record.producer_agent) === id) latest.delete(held.record.producer_agent);
  };
  return {
    putOutput(record) {
      drop(record.id);
      const size = 2 * JSON.stringify(record).length;
      byId.set(record.id, { record: structuredClone(record), bytes: size });
      bytes += size;
      latest.set(record.producer_agent, record.id);
      // the record just written is kept, whatever its size
      while (byId.size > 1 && (byId.size > max || bytes > maxBytes)) {
        drop(byId.keys().next().value!);
      }
      return Promise.resolve();
    },
    getOutput(id) {
      const r = byId.get(id)?.record;
      return Promise.resolve(r && structuredClone(r));
    },
    latestByProducer(name) {
      const id = latest.get(name);
      const r = id === undefined ? undefined : byId.get(id)?.record;
      return Promise.resolve(r && structuredClone(r));
    },
    pruneBefore(before, limit) {
      const old = [...byId.values()]
        .filter(({ record }) => record.created_at < before)
        .sort((a, b) => a.record.created_at - b.record.created_at)
        .slice(0, limit);
      for (const { record } of old) drop(record.id);
      return Promise.resolve(old.length);
    },
  };
}
