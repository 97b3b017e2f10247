/**
 * The token authority's records in memory: the live ones by nonce, by worker
 * handle and by run and task, and the records of ended runs (retired), kept
 * bounded so that their tokens and handles answer 410.
 *
 * @module
 */
import type { TokenRecord } from "../protocol/runs.ts";

/**
 * How many records of ended runs are kept in memory, so their tokens and handles
 * answer 410. Older ones are dropped (they then answer 401, as after a restart).
 */
export const RETIRED_TOKENS_MAX = 65_536;

/** Adds `nonce` to the nonces held under `id`. */
function addNonce(index: Map<string, string | Set<string>>, id: string, nonce: string): void {
  const held = index.get(id);
  if (held === undefined) index.set(id, nonce);
  else if (typeof held === "string") {
    if (held !== nonce) index.set(id, new Set([held, nonce]));
  } else held.add(nonce);
}

/** The nonces held under one id, as an iterable. */
function noncesOf(held: string | Set<string> | undefined): Iterable<string> {
  return held === undefined ? [] : typeof held === "string" ? [held] : held;
}

/** The records of {@link createTokenRecords}. */
export interface TokenRecords {
  /** The live or retired record of a nonce. */
  lookup(nonce: string): TokenRecord | undefined;
  /** The nonce behind a live or retired worker handle. */
  handleNonce(handle: string): string | undefined;
  /** Holds a record as live. */
  remember(record: TokenRecord): void;
  /** Holds a copy of each record whose nonce is not live yet. */
  adopt(list: Iterable<TokenRecord>): void;
  /** Drops the live record of a session token (one without a run), and returns it. */
  dropSession(nonce: string): TokenRecord | undefined;
  /** Marks a task's live records `task_ended` (their handles stop); returns those that changed. */
  endTask(taskId: string): TokenRecord[];
  /** Marks a run's live records ended and retires them; returns those that changed. */
  endRun(runId: string): TokenRecord[];
  /** How many records are held: live and retired. */
  sizes(): { live: number; retired: number };
}

/** The records in memory, starting with `initial`; at most `retiredMax` retired ones. */
export function createTokenRecords(
  initial: Iterable<TokenRecord>,
  retiredMax: number = RETIRED_TOKENS_MAX,
): TokenRecords {
  const records = new Map<string, TokenRecord>();
  const handles = new Map<string, string>();
  // A run's or task's nonces: most have one, held as the string itself (no set or
  // array a run), more as a Set.
  const byRun = new Map<string, string | Set<string>>();
  const byTask = new Map<string, string | Set<string>>();
  // Records of ended runs, oldest first, bounded by `retiredMax`.
  const retired = new Map<string, TokenRecord>();
  const retiredHandles = new Map<string, string>();

  /** Moves a run's records out of the live maps into the bounded retired ones. */
  const retire = (runId: string) => {
    const held = byRun.get(runId);
    if (held === undefined) return;
    byRun.delete(runId);
    for (const nonce of noncesOf(held)) {
      const record = records.get(nonce);
      if (!record) continue;
      records.delete(nonce);
      retired.set(nonce, record);
      if (record.task_id) byTask.delete(record.task_id);
      if (record.handle) {
        handles.delete(record.handle);
        retiredHandles.set(record.handle, nonce);
      }
    }
    if (retired.size <= retiredMax) return;
    // Drop the oldest quarter in one pass, so the cost is amortised.
    let drop = retired.size - retiredMax + (retiredMax >> 2);
    for (const [nonce, record] of retired) {
      if (drop-- <= 0) break;
      retired.delete(nonce);
      if (record.handle) retiredHandles.delete(record.handle);
    }
  };

  const remember = (record: TokenRecord) => {
    records.set(record.nonce, record);
    if (record.handle) handles.set(record.handle, record.nonce);
    if (record.run_id) {
      addNonce(byRun, record.run_id, record.nonce);
    }
    if (record.task_id) {
      addNonce(byTask, record.task_id, record.nonce);
    }
  };
  for (const record of initial) remember(record);

  /**
   * Sets `flag` on the live records of `nonces` at once (in memory, so a failed save
   * never leaves one working) and returns those that changed, to be saved.
   */
  const mark = (
    nonces: Iterable<string> | undefined,
    flag: "ended" | "task_ended",
  ): TokenRecord[] => {
    const changed: TokenRecord[] = [];
    for (const nonce of nonces ?? []) {
      const record = records.get(nonce);
      if (record && !record[flag]) {
        record[flag] = true;
        changed.push(record);
      }
    }
    return changed;
  };

  return {
    lookup: (nonce) => records.get(nonce) ?? retired.get(nonce),
    handleNonce: (handle) => handles.get(handle) ?? retiredHandles.get(handle),
    remember,
    adopt(list) {
      for (const record of list) if (!records.has(record.nonce)) remember({ ...record });
    },
    dropSession(nonce) {
      const record = records.get(nonce);
      if (!record || record.run_id !== undefined) return undefined;
      records.delete(nonce);
      return record;
    },
    endTask: (taskId) => mark(noncesOf(byTask.get(taskId)), "task_ended"),
    endRun(runId) {
      const ended = mark(noncesOf(byRun.get(runId)), "ended");
      retire(runId);
      return ended;
    },
    sizes: () => ({ live: records.size, retired: retired.size }),
  };
}
