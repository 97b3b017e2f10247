/**
 * The budgets of one run: how large its ctx and its values may grow, how many loop
 * passes, fanout branches and steps it may take, and how long it may hold the
 * event loop. Passing a budget fails the run with a `FlowError` of kind `budget`,
 * which no `try` catches; the server is never at risk.
 *
 * @module
 */
import { FlowError, jsonBytes } from "../expr/mod.ts";
import type { Json } from "../../protocol/json.ts";

/** The limits of one run. Each has an environment variable (config.ts). */
export interface RunBudgets {
  /** Bytes of the ctx as compact JSON, checked at each write (`SWITCHBOARD_RUN_MAX_CTX_BYTES`). */
  maxCtxBytes: number;
  /** Bytes of one value (a step's input or output, an assigned value) (`SWITCHBOARD_RUN_MAX_VALUE_BYTES`). */
  maxValueBytes: number;
  /** Loop passes of the whole run, all loops together (`SWITCHBOARD_RUN_MAX_LOOP_ITERATIONS`). */
  maxLoopIterations: number;
  /** Items of one fanout (`SWITCHBOARD_RUN_MAX_FANOUT`). */
  maxFanout: number;
  /** Fanout branches of the run alive at once, all fanouts together: nested fanouts multiply (`SWITCHBOARD_RUN_MAX_BRANCHES`). */
  maxBranches: number;
  /** Step executions of the run; each writes a step record and its events to the run's history (`SWITCHBOARD_RUN_MAX_STEPS`). */
  maxSteps: number;
  /**
   * Object keys the live fanout branches of the run hold copies of, all together
   * (`SWITCHBOARD_RUN_MAX_BRANCH_KEYS`). A branch's writes copy the objects on their
   * path, its root always: 1,000 branches over a root of 180,000 keys held 180 M
   * keys (the heap died). Each branch counts the most keys one of its writes copied.
   * A key copied costs about 0.7 µs: 256 Ki keys, about 200 ms.
   */
  maxBranchKeys: number;
  /**
   * Keys of the widest object one write may copy (`SWITCHBOARD_RUN_MAX_WRITE_KEYS`).
   * A write copies the objects on its path, the root ctx always, and one copy
   * cannot let the event loop run: an object of a million keys held it 0.5 s a
   * write. 128 Ki keys, about 60–90 ms.
   */
  maxWriteKeys: number;
  /**
   * Bytes of step and ask inputs and outputs of the run, all together: its history
   * keeps each one (prompt, output, events) until the run is deleted
   * (`SWITCHBOARD_RUN_MAX_HISTORY_BYTES`).
   */
  maxHistoryBytes: number;
}

/** The default budgets. */
export const DEFAULT_BUDGETS: Readonly<RunBudgets> = {
  maxCtxBytes: 16 * 1024 * 1024,
  maxValueBytes: 4 * 1024 * 1024,
  maxLoopIterations: 100_000,
  maxFanout: 1_000,
  maxBranches: 10_000,
  maxSteps: 10_000,
  maxBranchKeys: 256 * 1024,
  maxWriteKeys: 128 * 1024,
  maxHistoryBytes: 256 * 1024 * 1024,
};

/** How long the evaluator works before it lets the event loop run. */
export const SLICE_MS = 10;

/** The error of a passed budget. */
export function budgetError(what: string, limit: number, variable: string): FlowError {
  return new FlowError(
    `budget exceeded: ${what} (limit ${limit}, ${variable})`,
    "budget",
  );
}

/** Throws a `budget` error when the ctx is larger than the budget. */
export function checkCtx(ctx: Json, budgets: RunBudgets): void {
  const n = jsonBytes(ctx);
  if (n > budgets.maxCtxBytes) {
    throw budgetError(
      `the ctx would grow to ${n} bytes of JSON`,
      budgets.maxCtxBytes,
      "SWITCHBOARD_RUN_MAX_CTX_BYTES",
    );
  }
}

/** Throws a `budget` error when one value is larger than the budget; else its bytes. */
export function checkValue(what: string, v: Json, budgets: RunBudgets): number {
  const n = jsonBytes(v);
  if (n > budgets.maxValueBytes) {
    throw budgetError(
      `${what} is ${n} bytes of JSON`,
      budgets.maxValueBytes,
      "SWITCHBOARD_RUN_MAX_VALUE_BYTES",
    );
  }
  return n;
}

/** Adds `bytes` to a run's history bytes (`held`); throws a `budget` error past the budget. */
export function checkHistory(held: number, bytes: number, budgets: RunBudgets): number {
  const n = held + bytes;
  if (n > budgets.maxHistoryBytes) {
    throw budgetError(
      `the inputs and outputs of this run's steps and asks would hold ${n} bytes of JSON`,
      budgets.maxHistoryBytes,
      "SWITCHBOARD_RUN_MAX_HISTORY_BYTES",
    );
  }
  return n;
}
