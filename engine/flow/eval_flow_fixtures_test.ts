import assert from "node:assert/strict";
import type { FlowNodeInput } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { compileExpr } from "../expr/mod.ts";
import { evalFlow, FlowError } from "./mod.ts";
import {
  type Fixture,
  FIXTURE_A,
  FIXTURE_B,
  FIXTURE_B2_CALLS,
  FIXTURE_B2_FINAL_CTX,
  FIXTURE_B2_RETURNS,
  FIXTURE_C,
  FIXTURE_C2_FANOUT,
  FIXTURE_C2_FINAL_CTX,
} from "./_fixtures.ts";
import { fixtureDispatch, norm } from "./_testing.ts";

type Returns = Fixture["agent_returns"];

function runFixture(flow: FlowNodeInput, initCtx: Json, returns: Returns) {
  const { dispatch, calls } = fixtureDispatch(returns);
  const final = evalFlow(norm(flow), initCtx, { dispatch });
  return { final, calls };
}

const refDirective = (calls: { ref: string; directive: string }[]) =>
  calls.map(({ ref, directive }) => ({ ref, directive }));
const multiset = (calls: { ref: string; directive: string }[]) =>
  refDirective(calls).map((c) => JSON.stringify(c)).sort();

Deno.test("evalFlow() runs fixture A: compact directive, nested out, rest untouched", async () => {
  const { final, calls } = runFixture(FIXTURE_A.flow, FIXTURE_A.init_ctx, FIXTURE_A.agent_returns);
  assert.deepEqual(await final, FIXTURE_A.expected_final_ctx);
  assert.deepEqual(refDirective(calls), FIXTURE_A.expected_calls);
});

Deno.test("evalFlow() runs fixture B: the loop stops silently at max, then escalates", async () => {
  const { final, calls } = runFixture(FIXTURE_B.flow, FIXTURE_B.init_ctx, FIXTURE_B.agent_returns);
  assert.deepEqual(await final, FIXTURE_B.expected_final_ctx);
  assert.deepEqual(refDirective(calls), FIXTURE_B.expected_calls);
});

Deno.test("evalFlow() runs fixture B2: a PASS verdict ends the loop after one iteration", async () => {
  const { final, calls } = runFixture(FIXTURE_B.flow, FIXTURE_B.init_ctx, FIXTURE_B2_RETURNS);
  assert.deepEqual(await final, FIXTURE_B2_FINAL_CTX);
  assert.deepEqual(refDirective(calls), FIXTURE_B2_CALLS);
});

// Fixture B with its two conditions written in the compact text syntax.
function fixtureBWithText(): FlowNodeInput {
  const flow = structuredClone(FIXTURE_B.flow) as Extract<FlowNodeInput, { kind: "seq" }>;
  const loop = flow.children[1] as Extract<FlowNodeInput, { kind: "loop" }>;
  const branch = flow.children[2] as Extract<FlowNodeInput, { kind: "branch" }>;
  loop.cond = "!exists($.verdict) || $.verdict == 'BLOCKED'";
  branch.cond = "$.verdict in ['PASS', 'ALLOW']";
  return flow;
}

Deno.test("fixture B's text-syntax conditions compile to exactly its trees", () => {
  const tree = FIXTURE_B.flow as Extract<FlowNodeInput, { kind: "seq" }>;
  const text = fixtureBWithText() as Extract<FlowNodeInput, { kind: "seq" }>;
  assert.deepEqual(norm(text), norm(tree));
  const loop = tree.children[1] as Extract<FlowNodeInput, { kind: "loop" }>;
  const branch = tree.children[2] as Extract<FlowNodeInput, { kind: "branch" }>;
  assert.deepEqual(compileExpr("!exists($.verdict) || $.verdict == 'BLOCKED'"), loop.cond);
  assert.deepEqual(compileExpr("$.verdict in ['PASS', 'ALLOW']"), branch.cond);
});

Deno.test("evalFlow() runs fixture B with text-syntax conditions to the same result", async () => {
  const { final, calls } = runFixture(
    fixtureBWithText(),
    FIXTURE_B.init_ctx,
    FIXTURE_B.agent_returns,
  );
  assert.deepEqual(await final, FIXTURE_B.expected_final_ctx);
  assert.deepEqual(refDirective(calls), FIXTURE_B.expected_calls);
});

Deno.test("evalFlow() runs fixture C: private branch copies, try rollback, all join", async () => {
  const { final, calls } = runFixture(FIXTURE_C.flow, FIXTURE_C.init_ctx, FIXTURE_C.agent_returns);
  assert.deepEqual(await final, FIXTURE_C.expected_final_ctx);
  assert.deepEqual(multiset(calls), multiset(FIXTURE_C.expected_calls_unordered ?? []));
});

function fixtureC2(join: "all_settled" | "all"): FlowNodeInput {
  return {
    kind: "seq",
    children: [
      { ...(FIXTURE_C2_FANOUT as Extract<FlowNodeInput, { kind: "fanout" }>), join },
      {
        kind: "assign",
        at: { op: "path", at: "$.settled_count" },
        value: { op: "len", of: { op: "path", at: "$.settled" } },
      },
    ],
  };
}

Deno.test("evalFlow() runs fixture C2: all_settled records the rejection reason", async () => {
  const { final, calls } = runFixture(
    fixtureC2("all_settled"),
    FIXTURE_C.init_ctx,
    FIXTURE_C.agent_returns,
  );
  assert.deepEqual(await final, FIXTURE_C2_FINAL_CTX);
  assert.deepEqual(multiset(calls), multiset(FIXTURE_C.expected_calls_unordered ?? []));
});

Deno.test("evalFlow() runs fixture C3: all fails the run with the blocked step error", async () => {
  const { final } = runFixture(fixtureC2("all"), FIXTURE_C.init_ctx, FIXTURE_C.agent_returns);
  await assert.rejects(final, (e) => {
    assert.ok(e instanceof FlowError);
    assert.equal(e.message, `dispatcher error for ref 'reviewer': blocked: "NO"`);
    return true;
  });
});
