/**
 * A byte bound on the KV file (`SWITCHBOARD_KV_MAX_MB`). An SQLite file never
 * shrinks, so the bound is on the bytes in use (store/kv_file_usage.ts). Past
 * 90% of it, each check deletes the oldest ended runs, before their retention
 * is up, until it is under 90% again. Past the bound, new work is refused (507
 * `storage_full`) until the deletions bring the file back under it.
 *
 * @module
 */
import type { Logger } from "../observe/log.ts";
import type { KvFileUsage } from "./kv_file_usage.ts";

/** The share of the bound past which the oldest ended runs are deleted, and down to which. */
export const PRUNE_AT = 0.9;
/**
 * Ended runs deleted between two readings of the usage: one at first, twice as
 * many each time up to this, so a few big runs or many small ones go without
 * deleting much more than needed.
 */
export const PRUNE_STEP_MAX = 64;
/** Ended runs deleted by one check at most (the next check deletes more if needed). */
export const PRUNE_PER_CHECK = 1_000;

/** What a {@link DiskBudget} works with. */
export interface DiskBudgetOptions {
  maxBytes: number;
  /** Reads the file's usage; undefined when it cannot be read. */
  usage(): Promise<KvFileUsage | undefined>;
  /** Deletes at most `limit` of the oldest ended runs; resolves with how many. */
  pruneOldest(limit: number): Promise<number>;
  log: Logger;
}

/** The byte bound of one KV file. */
export interface DiskBudget {
  readonly maxBytes: number;
  /** Reads the usage, and deletes the oldest ended runs until it is under 90% of the bound. */
  check(): Promise<void>;
  /** True while the file was over its bound at the last check: new work is refused. */
  full(): boolean;
  /** The usage read by the last check. */
  usage(): KvFileUsage | undefined;
}

const MIB = 1024 * 1024;
const mib = (bytes: number) => Math.round(bytes / MIB);

/** Creates the bound; nothing runs until {@link DiskBudget.check} is called. */
export function createDiskBudget(options: DiskBudgetOptions): DiskBudget {
  const { maxBytes, log } = options;
  let last: KvFileUsage | undefined;
  let full = false;
  let running: Promise<void> | undefined;

  const check = async () => {
    let usage = await options.usage();
    if (!usage) return;
    // deleted a few at a time, the usage read again after each: no more than needed go
    let deleted = 0;
    let step = 1;
    while (usage.usedBytes > maxBytes * PRUNE_AT && deleted < PRUNE_PER_CHECK) {
      const n = await options.pruneOldest(Math.min(step, PRUNE_PER_CHECK - deleted));
      if (n === 0) break;
      deleted += n;
      step = Math.min(step * 2, PRUNE_STEP_MAX);
      usage = await options.usage() ?? usage;
    }
    last = usage;
    const fields = { used_mb: mib(usage.usedBytes), max_mb: mib(maxBytes) };
    if (deleted > 0) {
      log.warn("KV file near its bound: oldest ended runs deleted", { ...fields, deleted });
    }
    const over = usage.usedBytes > maxBytes;
    if (over && !full) log.error("KV file over its bound: new runs are refused", fields);
    if (!over && full) log.info("KV file back under its bound: new runs are accepted", fields);
    full = over;
  };

  return {
    maxBytes,
    check() {
      // one check at a time: a slow deletion is not started twice
      running ??= check().finally(() => running = undefined);
      return running;
    },
    full: () => full,
    usage: () => last,
  };
}
