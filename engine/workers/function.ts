/**
 * In-process function workers (kind `rust_fn`, reference/engine.md §5.2, §5.5):
 * a registry of async functions by `fn_id`; `identity` is built in.
 *
 * @module
 */
import type { CapToken } from "../captoken.ts";
import type { Json } from "../../protocol/json.ts";
import type { OutputEvent } from "../../protocol/worker.ts";
import type { WorkerResult } from "../faces.ts";
import { inlineFinal, messageOf, spawned, type Spawner, WorkerError } from "../spawner.ts";
import { abortable } from "../abortable.ts";

/** What a function worker receives. */
export interface WorkerInvocation {
  taskId: string;
  attempt: number;
  agent: string;
  /** The directive text of the step. */
  prompt: string;
  system: string | null;
  /** The worker credentials: absent, since an in-process function never calls back over HTTP. */
  token?: CapToken;
  encodedToken?: string;
  workerHandle?: string;
  runtime: Record<string, Json>;
  /** Appends an event to this attempt's tail. */
  emit(event: OutputEvent): Promise<void>;
  signal: AbortSignal;
}

/** An in-process worker function. */
export type WorkerFn = (inv: WorkerInvocation) => Promise<WorkerResult>;

/** The built-in `identity`: echoes its prompt. */
export const identity: WorkerFn = (inv) =>
  Promise.resolve({
    value: { by: "baseline-identity", agent: inv.agent, echoed: inv.prompt },
    ok: true,
  });

/** Creates the function registry with `identity` registered. */
export function createFunctionRegistry(extra: Iterable<[string, WorkerFn]> = []) {
  return new Map<string, WorkerFn>([["identity", identity], ...extra]);
}

/** A spawner that runs `fn` in-process and always appends its result as a final. */
export function functionWorker(fn: WorkerFn): Spawner {
  return function runFunction(a) {
    const done = (async () => {
      let result: WorkerResult;
      try {
        // a function that ignores its signal still ends its step when the run does
        result = await abortable(
          fn({
            taskId: a.ctx.taskId,
            attempt: a.ctx.attempt,
            agent: a.ctx.agent,
            prompt: a.attempt.prompt,
            system: null,
            token: a.token,
            encodedToken: a.grant?.capabilityToken,
            workerHandle: a.grant?.workerHandle,
            runtime: a.ctx.runtime,
            emit: (event) => {
              a.append(event);
              return Promise.resolve();
            },
            signal: a.signal,
          }),
          a.signal,
        );
      } catch (err) {
        if (a.signal.aborted) throw a.signal.reason;
        throw new WorkerError(`worker fn returned error: ${messageOf(err)}`, { cause: err });
      }
      a.append(inlineFinal(result.value ?? null, result.ok !== false));
    })();
    return Promise.resolve(spawned(done));
  };
}
