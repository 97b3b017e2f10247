/**
 * The hint layers (reference/engine.md §4.3): `main_ai` (spawn hook),
 * `senior_escalation` (ask on ok=false) and `operator_delegate` (hand the spawn
 * to an operator). Each wraps an inner spawner; the last listed is outermost.
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import { compactJson, directiveText } from "./expr/mod.ts";
import { cutText } from "./request_context.ts";
import {
  type AttemptContext,
  grantOf,
  inlineFinal,
  messageOf,
  spawned,
  type Spawner,
  SpawnError,
  WorkerError,
} from "./spawner.ts";

/** A layer: wraps an inner spawner. Faces are resolved per attempt (`a.faces`). */
export type Layer = (inner: Spawner) => Spawner;

function rethrowIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason;
}

/** `main_ai`: `before` gates the spawn, `after` sees the result (kinds main_ai/composite). */
export const mainAiLayer: Layer = (inner) =>
  async function mainAi(a) {
    const active = a.ctx.operator.kind === "main_ai" || a.ctx.operator.kind === "composite";
    const hook = active ? a.faces.hook : undefined;
    if (!hook) return inner(a);
    try {
      const edits = await hook.before(a.ctx, {
        signal: a.signal,
        runId: a.ctx.runId,
        attempt: a.ctx.attempt,
      });
      if (edits?.input !== undefined) applyInputEdit(a, edits.input);
    } catch (err) {
      rethrowIfAborted(a.signal);
      throw new SpawnError(`spawn rejected by middleware: ${messageOf(err)}`, { cause: err });
    }
    const started = await inner(a);
    return spawned(started.done.then(
      async () => {
        await hook.after(a.ctx, a.lastFinal()?.value ?? null).catch(() => {});
      },
      async (err) => {
        await hook.after(a.ctx, messageOf(err)).catch(() => {});
        throw err;
      },
    ));
  };

/**
 * Approve with edits: the approved `input` replaces the step's input (the
 * attempt's prompt, and the context later frames carry). The audit of the
 * `hook_ack` records the edit.
 */
function applyInputEdit(a: AttemptContext, input: Json): void {
  a.attempt.prompt = directiveText(input);
  if (a.ctx.context) {
    const { text, cut } = cutText(a.attempt.prompt);
    const context = { ...a.ctx.context, input: text };
    if (cut) context.input_truncated = true;
    else delete context.input_truncated;
    a.ctx = { ...a.ctx, context };
  }
}

function isRefusal(answer: Json): boolean {
  return typeof answer === "object" && answer !== null && !Array.isArray(answer) &&
    answer.ok === false;
}

/** `senior_escalation`: a final with ok=false is put to the senior bridge. */
export const seniorLayer: Layer = (inner) =>
  async function seniorEscalation(a) {
    const started = await inner(a);
    const bridge = a.faces.bridge;
    if (!bridge) return started;
    return spawned(started.done.then(async () => {
      const final = a.lastFinal();
      if (!final || final.ok) return;
      let answer: Json;
      try {
        answer = await bridge.ask(
          a.ctx.taskId,
          { reason: "worker reported ok=false", value: final.value },
          {
            signal: a.signal,
            runId: a.ctx.runId,
            attempt: a.ctx.attempt,
            context: a.ctx.context,
            deadlineAt: a.ctx.deadlineAt,
          },
        );
      } catch (err) {
        rethrowIfAborted(a.signal);
        // no answer: the attempt stays blocked, and its message says why (SPEC §3:
        // a deleted seat's requests fail with `operator session deleted`, which the run sees)
        a.blockNote = `no senior answer: ${messageOf(err)}`;
        return;
      }
      if (isRefusal(answer)) {
        a.blockNote = `senior answer: ${compactJson(answer)}`;
        return;
      }
      a.append(inlineFinal({ original: final.value, senior_answer: answer }, true));
    }));
  };

/** `operator_delegate`: when a backend is resolved, the operator executes the spawn. */
export const delegateLayer: Layer = (inner) =>
  function operatorDelegate(a) {
    const backend = a.faces.backend;
    if (!backend) return inner(a);
    let grant;
    try {
      grant = grantOf(a);
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve(spawned(
      backend.execute(a.ctx, null, a.attempt.prompt, grant, a.signal).then(
        (result) => {
          if (!a.lastFinal()) a.append(inlineFinal(result.value, result.ok));
        },
        (err) => {
          rethrowIfAborted(a.signal);
          throw new WorkerError(`worker fn returned error: ${messageOf(err)}`, { cause: err });
        },
      ),
    ));
  };

/** The hint layers by key. Unknown keys are skipped. */
export const HINT_LAYERS: Record<string, Layer> = {
  main_ai: mainAiLayer,
  senior_escalation: seniorLayer,
  operator_delegate: delegateLayer,
};
