/**
 * Compiles answer schemas and checks answers against them off the event loop.
 * Ajv has no time bound: a 1.4 KB schema of nested `anyOf` took 4.3 s and 8 M
 * issues to check the answer `1`, `^(a+)+$` takes seconds on 30 characters, and
 * compiling 4,000 `patternProperties` (55 KB) took 2.4 s. So Ajv runs in a
 * worker, one job at a time. A check counts its steps and ends itself past its
 * budget (engine/_answer_budget.ts); one still running after
 * {@link ANSWER_CHECK_MS} (a backtracking `pattern`, one step) ends the worker
 * (the next job starts a new one) and fails with 422. At most
 * {@link MAX_ANSWER_CHECKS} jobs wait (then 503), and at most
 * {@link MAX_ISSUES} issues of an answer come back.
 *
 * Jobs wait by the party that asked for them (a seat, a worker's task, the
 * Blueprint registrations), and the worker takes one job from each party in
 * turn: a seat that sends a hundred expensive answers delays another seat's
 * answer by one job, not a hundred. One party may have at most
 * {@link MAX_CHECKS_PER_PARTY} jobs waiting (then 503).
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { Issue } from "../protocol/issues.ts";
import type { Json } from "../protocol/json.ts";

/** The time one job (an answer's check, a Blueprint's schemas) may take (ms). */
export const ANSWER_CHECK_MS = 1_000;

/**
 * When a compile job that has not ended is stopped (ms). Compiling stops itself
 * past {@link ANSWER_CHECK_MS} between two schemas (one compiles in at most ~2.5 s,
 * measured): Deno keeps the memory of a worker terminated while it runs (~24 MB
 * plus its heap), so a worker is terminated only as a last resort.
 */
const COMPILE_STOP_MS = 10_000;

/** Jobs waiting for the worker at most. */
export const MAX_ANSWER_CHECKS = 256;

/** Jobs of one party waiting for the worker at most. */
export const MAX_CHECKS_PER_PARTY = 32;

/** Issues reported of one answer at most. */
export const MAX_ISSUES = 100;

/** A schema that does not compile: its index in the list and why. */
export interface BrokenSchema {
  index: number;
  message: string;
}

type Reply =
  | { issues: Issue[] }
  | { invalid: string }
  | { failed: string }
  | { compiled: BrokenSchema[] };

interface Job {
  message: unknown;
  /** When the worker is terminated. */
  ms: number;
  done: PromiseWithResolvers<Reply | "timeout">;
}

/** The waiting jobs of each party, in the order the parties take turns. */
const waiting = new Map<string, Job[]>();
let waitingJobs = 0;
let worker: Promise<Worker> | undefined;
let draining = false;

/** The next job: the first party's oldest, that party then going last. */
function next(): Job | undefined {
  for (const [party, jobs] of waiting) {
    const job = jobs.shift()!;
    waiting.delete(party);
    if (jobs.length > 0) waiting.set(party, jobs);
    waitingJobs--;
    return job;
  }
  return undefined;
}

/** Starts a worker; resolves once it has loaded. */
function boot(): Promise<Worker> {
  const w = new Worker(new URL("./_answer_check_worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    w.onmessage = () => resolve(w);
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      reject(new SwitchboardError("unavailable", `answer schema worker failed: ${e.message}`));
    };
  });
}

/** Runs one job on `w`, or "timeout" after `ms`. */
function run(w: Worker, job: Job): Promise<Reply | "timeout"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), job.ms);
    const settle = (outcome: Reply | "timeout") => {
      clearTimeout(timer);
      resolve(outcome);
    };
    w.onmessage = (e) => settle(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      settle({ failed: e.message });
    };
    w.postMessage(job.message);
  });
}

async function drain(): Promise<void> {
  draining = true;
  try {
    for (let job = next(); job; job = next()) {
      try {
        worker ??= boot();
        const w = await worker;
        const outcome = await run(w, job);
        if (outcome === "timeout") {
          w.terminate();
          worker = undefined;
        }
        job.done.resolve(outcome);
      } catch (err) {
        worker = undefined;
        job.done.reject(err);
      }
    }
  } finally {
    draining = false;
  }
}

/** Queues a job of `party` for the worker. */
function submit(party: string, message: unknown, ms: number): Promise<Reply | "timeout"> {
  const jobs = waiting.get(party) ?? [];
  if (waitingJobs >= MAX_ANSWER_CHECKS || jobs.length >= MAX_CHECKS_PER_PARTY) {
    const full = jobs.length >= MAX_CHECKS_PER_PARTY
      ? `${MAX_CHECKS_PER_PARTY} of ${party}`
      : `${MAX_ANSWER_CHECKS}`;
    return Promise.reject(
      new SwitchboardError("unavailable", `too many answer schema jobs waiting (${full})`),
    );
  }
  const done = Promise.withResolvers<Reply | "timeout">();
  jobs.push({ message, ms, done });
  waiting.set(party, jobs);
  waitingJobs++;
  if (!draining) void drain();
  return done.promise;
}

/**
 * The reasons `value` does not validate against `schema` (at most
 * {@link MAX_ISSUES}); empty when it does or when the schema is broken. `party`
 * names who asked (`seat:<sid>`). Rejects with a `SwitchboardError`: 422 for a
 * check past {@link ANSWER_CHECK_MS} (or one that failed), 503 when
 * {@link MAX_ANSWER_CHECKS} jobs, or {@link MAX_CHECKS_PER_PARTY} of `party`'s,
 * wait already.
 */
export async function answerCheck(schema: Json, value: Json, party: string): Promise<Issue[]> {
  const outcome = await submit(party, { schema, value, max: MAX_ISSUES }, ANSWER_CHECK_MS);
  if (outcome === "timeout") {
    throw new SwitchboardError(
      "invalid",
      `answer check against the ask's schema took longer than ${ANSWER_CHECK_MS} ms`,
    );
  }
  if ("failed" in outcome) {
    throw new SwitchboardError("invalid", `answer check failed: ${outcome.failed}`);
  }
  // The schema was checked when the ask was made; a broken one refuses nothing.
  return "issues" in outcome ? outcome.issues : [];
}

/**
 * The schemas of `schemas` that do not compile (at most 64 KiB of JSON each),
 * with why; `index: 0` and a message when compiling them all took longer than
 * {@link ANSWER_CHECK_MS}. `party` names who asked (`task:<id>`, `blueprints`).
 * Rejects with 503 as {@link answerCheck} does.
 */
export async function compileAnswerSchemas(
  schemas: Json[],
  party: string,
): Promise<BrokenSchema[]> {
  if (schemas.length === 0) return [];
  const outcome = await submit(party, { schemas, limit: ANSWER_CHECK_MS }, COMPILE_STOP_MS);
  if (outcome === "timeout") {
    return [{ index: 0, message: `compiling took longer than ${COMPILE_STOP_MS} ms` }];
  }
  if ("failed" in outcome) return [{ index: 0, message: outcome.failed }];
  return "compiled" in outcome ? outcome.compiled : [];
}
