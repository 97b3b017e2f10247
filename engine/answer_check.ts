/**
 * Checks answers against their ask's schema off the event loop. Ajv's checks
 * have no time bound (a 1.4 KB schema of nested `anyOf` took 4.3 s and 8 M
 * issues on the answer `1`; `^(a+)+$` on 30 characters takes seconds), so they
 * run in a worker, one at a time, each within {@link ANSWER_CHECK_MS}: a check
 * past it ends the worker (the next check starts a new one) and refuses the
 * answer with 422. At most {@link MAX_ANSWER_CHECKS} wait (then 503), and at most
 * {@link MAX_ISSUES} issues come back.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { Issue } from "../protocol/issues.ts";
import type { Json } from "../protocol/json.ts";

/** The time one answer's check may take (ms). */
export const ANSWER_CHECK_MS = 1_000;

/** Checks waiting for the worker at most. */
export const MAX_ANSWER_CHECKS = 256;

/** Issues reported of one answer at most. */
export const MAX_ISSUES = 100;

type Outcome = { issues: Issue[] } | { broken: string } | { failed: string } | "timeout";

interface Check {
  schema: Json;
  value: Json;
  done: PromiseWithResolvers<Issue[]>;
}

const waiting: Check[] = [];
let worker: Promise<Worker> | undefined;
let draining = false;

/** Starts a worker; resolves once it has loaded. */
function boot(): Promise<Worker> {
  const w = new Worker(new URL("./_answer_check_worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    w.onmessage = () => resolve(w);
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      reject(new SwitchboardError("unavailable", `answer check failed to start: ${e.message}`));
    };
  });
}

/** Runs one check on `w`, or "timeout" after {@link ANSWER_CHECK_MS}. */
function run(w: Worker, check: Check): Promise<Outcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), ANSWER_CHECK_MS);
    const settle = (outcome: Outcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    w.onmessage = (e) => settle(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      settle({ failed: e.message });
    };
    w.postMessage({ schema: check.schema, value: check.value, max: MAX_ISSUES });
  });
}

async function drain(): Promise<void> {
  draining = true;
  try {
    for (let check = waiting.shift(); check; check = waiting.shift()) {
      try {
        worker ??= boot();
        const w = await worker;
        const outcome = await run(w, check);
        if (outcome === "timeout" || "failed" in outcome) {
          w.terminate();
          worker = undefined;
        }
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
        check.done.resolve("issues" in outcome ? outcome.issues : []);
      } catch (err) {
        if (!(err instanceof SwitchboardError) || err.code === "unavailable") worker = undefined;
        check.done.reject(err);
      }
    }
  } finally {
    draining = false;
  }
}

/**
 * The reasons `value` does not validate against `schema` (at most
 * {@link MAX_ISSUES}); empty when it does or when the schema is broken. Rejects
 * with a `SwitchboardError`: 422 for a check past {@link ANSWER_CHECK_MS}, 503
 * when {@link MAX_ANSWER_CHECKS} wait already.
 */
export function answerCheck(schema: Json, value: Json): Promise<Issue[]> {
  if (waiting.length >= MAX_ANSWER_CHECKS) {
    return Promise.reject(
      new SwitchboardError("unavailable", `too many answer checks waiting (${MAX_ANSWER_CHECKS})`),
    );
  }
  const done = Promise.withResolvers<Issue[]>();
  waiting.push({ schema, value, done });
  if (!draining) void drain();
  return done.promise;
}
