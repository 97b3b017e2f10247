/**
 * The work budget of one expression evaluation (or one template render). Its
 * node count does not bound an expression's cost: each `$` path may read a value
 * of megabytes, and 170 `eq` of two equal 3 MB values held the event loop for 3 s.
 * Comparisons, `in` and `len` spend from the budget as they go.
 *
 * @module
 */
import { FlowError } from "./flow_error.ts";

/**
 * The work units one evaluation may spend: one per value compared (`eq`, `ne`,
 * `in`), per object key or per 8 string characters counted (`len`). 8 Mi units
 * take about 80 ms; two distinct values that fill the default ctx budget (16 MiB
 * of JSON, 2 bytes or more per value) compare in 8 Mi.
 */
export const MAX_EXPR_WORK = 8 * 1024 * 1024;

/** What is left of one evaluation's budget. */
export type Work = { left: number };

/** A full budget. */
export function newWork(): Work {
  return { left: MAX_EXPR_WORK };
}

/** Spends `units`; throws `FlowError` (kind `limit`) when the budget runs out. */
export function spend(work: Work, units: number): void {
  work.left -= units;
  if (work.left < 0) {
    throw new FlowError(
      `expression too costly: more than ${MAX_EXPR_WORK} units of work (values compared, characters counted)`,
      "limit",
    );
  }
}
