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
}

/** A data store in memory. */
export function createMemoryDataStore(): DataStore {
  const byId = new Map<string, StoredOutput>();
  const latest = new Map<string, string>();
  return {
    putOutput(record) {
      byId.set(record.id, structuredClone(record));
      latest.set(record.producer_agent, record.id);
      return Promise.resolve();
    },
    getOutput(id) {
      const r = byId.get(id);
      return Promise.resolve(r && structuredClone(r));
    },
    latestByProducer(name) {
      const id = latest.get(name);
      const r = id === undefined ? undefined : byId.get(id);
      return Promise.resolve(r && structuredClone(r));
    },
  };
}
