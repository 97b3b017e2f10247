/**
 * The Deno KV run store. Its jobs live in modules of their own:
 *
 * - the key layout, and how a run record is stored: `_kv_run_keys.ts`;
 * - the writes: a run's writes gather in one group of the write queue
 *   (`_kv_write_queue.ts`) until the queue takes it (`_kv_run_writes.ts`); only
 *   the last state of each key is built and written then, in one commit with the
 *   runs around it (`_kv_run_commit.ts`);
 * - the reads of runs and their records (`_kv_run_reads.ts`) and of tokens
 *   (`_kv_token_reads.ts`), which wait for the writes queued before them;
 * - retention: ended runs and expired tokens (`_kv_run_retention.ts`).
 *
 * @module
 */
import type { RunStore } from "./run_store.ts";
import { createKvWriteQueue } from "./_kv_write_queue.ts";
import { kvRunKeys } from "./_kv_run_keys.ts";
import { createKvRunWrites } from "./_kv_run_writes.ts";
import { createKvRunReads } from "./_kv_run_reads.ts";
import { createKvTokenReads } from "./_kv_token_reads.ts";
import { createKvRunRetention } from "./_kv_run_retention.ts";

/** Options of {@link createKvRunStore}. */
export interface KvRunStoreOptions {
  /** Key prefix of every entry. Default `["runs"]`. */
  prefix?: Deno.KvKey;
}

/** Creates a {@link RunStore} on `kv`. The caller owns `kv` and closes it. */
export function createKvRunStore(kv: Deno.Kv, options: KvRunStoreOptions = {}): RunStore {
  const { prefix = ["runs"] } = options;
  const keys = kvRunKeys(prefix);
  const queue = createKvWriteQueue(kv, keys.blobs);
  const access = { kv, keys, idle: () => queue.idle() };
  return {
    flushed: access.idle,
    ...createKvRunWrites(keys, queue),
    ...createKvRunReads(access),
    ...createKvTokenReads(access),
    ...createKvRunRetention(access),
  };
}
