/**
 * The `ask` flow node: the seat holding `to` (a role or a sid, scoped seats
 * first) gets an `ask` with the question, the schema and the context; its
 * answer is the node's value. On `timeout_secs` the policy applies: `fail`
 * (the default), `default` (a value), or `escalate` (the first request is
 * cancelled with `cancel{timeout}` and the other role is asked).
 *
 * The outcome is journaled by the node's key, like a step's, so a resumed run
 * does not ask again; a request still pending after a restart is found again.
 *
 * @module
 */
import type { AskNodeNorm } from "../protocol/blueprint.ts";
import type { Json } from "../protocol/json.ts";
import type { RequestContext } from "../protocol/frames.ts";
import type { JournalEntry } from "../protocol/runs.ts";
import { type AskRequest, StepError } from "./flow/mod.ts";
import { type FaceRegistries, resolveFace } from "./faces.ts";
import { requestContext } from "./request_context.ts";
import { messageOf } from "./spawner.ts";
import type { LiveRun, RequestRef } from "./run_types.ts";

/** What an ask node needs from the engine. */
export interface AskNodeHost {
  registries: FaceRegistries;
  now(): number;
  /** Records a node's outcome in the run's journal (written behind the run). */
  journal(run: LiveRun, entry: JournalEntry): void;
  /** Reads the cluster's seats again (a cluster), before a `to` no seat here holds fails. */
  syncSeats?(): Promise<void>;
}

/** The task id of an ask node's requests: `ask` + its key. */
export function askTaskId(key: string): string {
  return `ask${key}`;
}

const TIMED_OUT = Symbol("timed out");

/** The request of attempt `n` of the node at `key` that the run holds (sent before a restart). */
function earlier(run: LiveRun, key: string, n: number): RequestRef | undefined {
  const taskId = askTaskId(key); // only this node's asks have it
  return run.requests?.find((r) => r.task_id === taskId && r.attempt === n);
}

/** Runs one `ask` node of `run`; resolves with the answer or throws a StepError. */
export async function askNode(host: AskNodeHost, run: LiveRun, req: AskRequest): Promise<Json> {
  const journaled = run.journal?.get(req.key);
  if (journaled) {
    if (journaled.ok) return journaled.value;
    throw new StepError(journaled.error);
  }
  const { node } = req;
  const context = requestContext({
    runId: run.record.run_id,
    blueprintId: run.record.blueprint.id,
    blueprintVersion: run.record.bound_version,
    step: req.key,
  });
  let outcome: JournalEntry;
  try {
    outcome = { key: req.key, ok: true, value: await decide(host, run, req, node, context) };
  } catch (err) {
    if (req.signal.aborted || !(err instanceof StepError)) throw err;
    outcome = { key: req.key, ok: false, error: err.message };
  }
  host.journal(run, outcome);
  if (outcome.ok) return outcome.value;
  throw new StepError(outcome.error);
}

async function decide(
  host: AskNodeHost,
  run: LiveRun,
  req: AskRequest,
  node: AskNodeNorm,
  context: RequestContext,
): Promise<Json> {
  const policy = node.on_timeout ?? { kind: "fail" };
  // A run resumed while its escalation was pending goes on with the escalation.
  const escalated = policy.kind === "escalate" && earlier(run, req.key, 2) !== undefined;
  const first = escalated ? TIMED_OUT : await askOnce(host, run, req, context, {
    to: node.to,
    timeoutSecs: node.timeout_secs,
    attempt: 1,
  });
  if (first !== TIMED_OUT) return first;
  const timedOut = `ask timed out after ${node.timeout_secs} s`;
  switch (policy.kind) {
    case "fail":
      throw new StepError(timedOut);
    case "default":
      return policy.value;
    case "escalate": {
      const second = await askOnce(host, run, req, context, {
        to: policy.to,
        timeoutSecs: policy.timeout_secs,
        attempt: 2,
      });
      if (second !== TIMED_OUT) return second;
      throw new StepError(
        `${timedOut}; escalated to '${policy.to}', which timed out after ${policy.timeout_secs} s`,
      );
    }
  }
}

/** Who one request of an ask node goes to, how long it waits, and which attempt it is. */
interface AskTarget {
  to: string;
  timeoutSecs?: number;
  attempt: number;
}

/** One request to the seat holding `to`, bounded by `timeoutSecs`. */
async function askOnce(
  host: AskNodeHost,
  run: LiveRun,
  req: AskRequest,
  context: RequestContext,
  { to, timeoutSecs, attempt }: AskTarget,
): Promise<Json | typeof TIMED_OUT> {
  const scope = { runId: run.record.run_id, blueprintId: run.record.blueprint.id };
  let bridge = resolveFace(host.registries, "seniorBridges", to, scope);
  if (!bridge && host.syncSeats) {
    // in a cluster, a seat minted a moment ago elsewhere may not have reached this instance
    await host.syncSeats();
    bridge = resolveFace(host.registries, "seniorBridges", to, scope);
  }
  if (!bridge) throw new StepError(`no operator seat holds '${to}'`);
  // The timeout counts from when the request was first sent, also across a restart.
  const sentAt = earlier(run, req.key, attempt)?.sent_at ?? host.now();
  const endsAt = timeoutSecs === undefined ? undefined : sentAt + timeoutSecs * 1000;
  const timeout = endsAt === undefined
    ? undefined
    : AbortSignal.timeout(Math.min(Math.max(0, endsAt - host.now()), 2 ** 31 - 1));
  const signal = timeout ? AbortSignal.any([req.signal, timeout]) : req.signal;
  const deadlineAt = Math.min(run.record.deadline_at, endsAt ?? Infinity);
  try {
    return await bridge.ask(askTaskId(req.key), req.question, {
      signal,
      runId: run.record.run_id,
      attempt,
      context: { ...context, attempt },
      schema: req.node.schema,
      // Roles never start with `op-` (SPEC §10): anything else is a role.
      role: to.startsWith("op-") ? undefined : to,
      deadlineAt,
    });
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    if (timeout?.aborted) return TIMED_OUT;
    throw new StepError(messageOf(err), { cause: err });
  }
}
