/**
 * Test helpers for the flow evaluator: a small normalizer from the wire form and
 * fake dispatchers. Used only by this folder's tests.
 *
 * @module
 */
import type { FlowNodeInput, FlowNodeNorm } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { compactJson, compileExpr, compileWriteTarget } from "../expr/mod.ts";
import type { Dispatch, StepRequest } from "./eval_flow.ts";
import { StepError } from "./step_error.ts";

/** Compiles every expression of a wire flow, as Blueprint normalization does. */
export function norm(node: FlowNodeInput): FlowNodeNorm {
  switch (node.kind) {
    case "step":
      return {
        kind: "step",
        ref: node.ref,
        in: compileExpr(node.in),
        out: compileWriteTarget(node.out),
      };
    case "seq":
      return { kind: "seq", children: node.children.map(norm) };
    case "branch":
      return {
        kind: "branch",
        cond: compileExpr(node.cond),
        then: norm(node.then),
        else: norm(node.else),
      };
    case "loop":
      return {
        kind: "loop",
        counter: compileWriteTarget(node.counter),
        cond: compileExpr(node.cond),
        body: norm(node.body),
        max: node.max,
      };
    case "fanout":
      return {
        kind: "fanout",
        items: compileExpr(node.items),
        bind: compileWriteTarget(node.bind),
        body: norm(node.body),
        join: node.join,
        out: compileWriteTarget(node.out),
      };
    case "try": {
      const out: FlowNodeNorm = { kind: "try", body: norm(node.body), catch: norm(node.catch) };
      if (node.err_at != null) out.err_at = compileWriteTarget(node.err_at);
      return out;
    }
    case "assign":
      return { kind: "assign", at: compileWriteTarget(node.at), value: compileExpr(node.value) };
    case "ask": {
      const { question, out, ...rest } = node;
      return { ...rest, question: compileExpr(question), out: compileWriteTarget(out) };
    }
  }
}

/** A step call as a fake dispatcher saw it. */
export type Call = { ref: string; directive: string; key: string };

/**
 * The §5.0 harness: each agent ignores its input and answers `returns[ref]`;
 * `ok: false` fails the step with `blocked: <json>`.
 */
export function fixtureDispatch(
  returns: Record<string, { ok: boolean; value: Json }>,
): { dispatch: Dispatch; calls: Call[] } {
  const calls: Call[] = [];
  const dispatch: Dispatch = async ({ ref, directive, key }) => {
    calls.push({ ref, directive, key });
    await Promise.resolve();
    const answer = returns[ref];
    if (answer === undefined) throw new StepError(`dispatch failed: no agent ${ref}`);
    if (!answer.ok) throw new StepError("blocked: " + compactJson(answer.value));
    return answer.value;
  };
  return { dispatch, calls };
}

/** A dispatched step the test settles by hand. */
export type Held = StepRequest & {
  resolve(value: Json): void;
  reject(error: unknown): void;
};

/**
 * A dispatcher whose steps stay pending until the test settles them. `next(key)`
 * resolves once the step with that key has been dispatched.
 */
export function heldDispatch(): { dispatch: Dispatch; next(key: string): Promise<Held> } {
  const waiting = new Map<string, PromiseWithResolvers<Held>>();
  const slot = (key: string) => {
    let w = waiting.get(key);
    if (w === undefined) {
      w = Promise.withResolvers<Held>();
      waiting.set(key, w);
    }
    return w;
  };
  const dispatch: Dispatch = (req) => {
    const { promise, resolve, reject } = Promise.withResolvers<Json>();
    slot(req.key).resolve({ ...req, resolve, reject });
    return promise;
  };
  return { dispatch, next: (key) => slot(key).promise };
}
