/**
 * Retention: ended runs are deleted, with their steps, journal, events, requests,
 * tasks and tokens, once they finished more than `SWITCHBOARD_RUN_RETENTION_SECS`
 * ago (7 days by default), and data records that long after they were written.
 * Run by the background sweep, in bounded batches.
 *
 * @module
 */
import type { RunStore } from "./run_store.ts";
import type { DataStore } from "./data_store.ts";

/** The default retention of ended runs, in seconds (7 days). */
export const RUN_RETENTION_SECS = 7 * 86_400;
/** Runs deleted per store call, and calls per sweep. */
const BATCH = 200;
const BATCHES_PER_SWEEP = 10;

/** Calls `prune(BATCH)` until it deletes fewer, at most BATCHES_PER_SWEEP times; the total. */
async function inBatches(prune: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < BATCHES_PER_SWEEP; i++) {
    const n = await prune(BATCH);
    total += n;
    if (n < BATCH) break;
  }
  return total;
}

/**
 * Deletes the stored records of session tokens (no run) that expired before
 * `now`, in bounded batches; resolves with how many were deleted. Records
 * written before they carried an expiry stay.
 */
export function pruneExpiredTokens(runs: RunStore, now: number): Promise<number> {
  const before = Math.floor(now / 1000);
  return inBatches((limit) => runs.pruneExpiredTokens(before, limit));
}

/** Deletes ended runs older than `retentionSecs`; resolves with how many were deleted. */
export function pruneEndedRuns(
  runs: RunStore,
  retentionSecs: number,
  now: number,
): Promise<number> {
  const before = now - retentionSecs * 1000;
  return inBatches((limit) => runs.pruneEnded(before, limit));
}

/**
 * Deletes data records written more than `retentionSecs` ago (the runs'
 * retention); resolves with how many were deleted.
 */
export function pruneDataRecords(
  data: DataStore,
  retentionSecs: number,
  now: number,
): Promise<number> {
  const before = now - retentionSecs * 1000;
  return inBatches((limit) => data.pruneBefore(before, limit));
}
