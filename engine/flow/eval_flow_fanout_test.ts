import assert from "node:assert/strict";
import type { FanoutJoin, FlowNodeInput } from "../../protocol/blueprint.ts";
import { type Dispatch, evalFlow, FlowError, StepError } from "./mod.ts";
import { heldDispatch, norm } from "./_testing.ts";

const echo: Dispatch = ({ input }) => Promise.resolve(input);
const fanout = (join: FanoutJoin, body: FlowNodeInput, items = "$.items"): FlowNodeInput => ({
  kind: "fanout",
  items,
  bind: "$.item",
  body,
  join,
  out: "$.out",
});
const work: FlowNodeInput = { kind: "step", ref: "w", in: "$.item", out: "$.done" };
const JOINS: FanoutJoin[] = ["all", "any", "race", "all_settled"];

/** Starts a fanout over `n` items whose steps the test settles by hand. */
function start(join: FanoutJoin, n: number, signal?: AbortSignal, body: FlowNodeInput = work) {
  const held = heldDispatch();
  const items = Array.from({ length: n }, (_, i) => `i${i}`);
  const afterSteps: string[] = [];
  const dispatched: string[] = [];
  const result = evalFlow(norm(fanout(join, body)), { items }, {
    dispatch: (req) => {
      dispatched.push(req.key);
      return held.dispatch(req);
    },
    signal,
    afterStep: ({ key }) => {
      afterSteps.push(key);
    },
  });
  const branch = (i: number, suffix = "") => held.next(`/body~${i}${suffix}`);
  return { result, branch, afterSteps, dispatched };
}

Deno.test("fanout refuses items that are not an array", async () => {
  await assert.rejects(
    evalFlow(norm(fanout("all", work, "$.x")), { x: "abc" }, { dispatch: echo }),
    (e) =>
      e instanceof FlowError &&
      e.message === 'type error in fanout.items: expected array, got "abc"',
  );
});

Deno.test("fanout over no items writes [] under every join and runs nothing", async () => {
  for (const join of JOINS) {
    let calls = 0;
    const dispatch: Dispatch = () => {
      calls++;
      return Promise.resolve(null);
    };
    assert.deepEqual(await evalFlow(norm(fanout(join, work)), { items: [] }, { dispatch }), {
      items: [],
      out: [],
    });
    assert.equal(calls, 0, join);
  }
});

Deno.test("fanout branches work on private copies and only out reaches the caller", async () => {
  const body: FlowNodeInput = {
    kind: "seq",
    children: [
      { kind: "assign", at: "$.shared.touched", value: "$.item" },
      { kind: "assign", at: "$.leak", value: "true" },
    ],
  };
  const final = await evalFlow(
    norm(fanout("all", body)),
    { items: [1, 2], shared: { touched: 0 } },
    { dispatch: echo },
  );
  assert.deepEqual(final, {
    items: [1, 2],
    shared: { touched: 0 },
    out: [
      { items: [1, 2], shared: { touched: 1 }, item: 1, leak: true },
      { items: [1, 2], shared: { touched: 2 }, item: 2, leak: true },
    ],
  });
});

Deno.test("fanout with bind $ makes each item the whole branch ctx", async () => {
  const flow: FlowNodeInput = {
    kind: "fanout",
    items: "[{'a': 1}, {'a': 2}, 3]",
    bind: "$",
    body: { kind: "assign", at: "$.b", value: "coalesce($.a, 0) * 10" },
    join: "all",
    out: "$.out",
  };
  assert.deepEqual(await evalFlow(norm(flow), { keep: 1 }, { dispatch: echo }), {
    keep: 1,
    out: [{ a: 1, b: 10 }, { a: 2, b: 20 }, { b: 0 }],
  });
});

Deno.test("fanout all collects ctxs in item order whatever the finishing order", async () => {
  const { result, branch } = start("all", 3);
  const [b0, b1, b2] = await Promise.all([branch(0), branch(1), branch(2)]);
  b2.resolve("d2");
  b0.resolve("d0");
  b1.resolve("d1");
  const items = ["i0", "i1", "i2"];
  assert.deepEqual(await result, {
    items,
    out: [0, 1, 2].map((i) => ({ items, item: `i${i}`, done: `d${i}` })),
  });
});

Deno.test("fanout all fails with the first failure in time and aborts the other branches", async () => {
  const { result, branch, afterSteps } = start("all", 3);
  const [b0, b1, b2] = await Promise.all([branch(0), branch(1), branch(2)]);
  b2.resolve("ok");
  b1.reject(new StepError('blocked: "first"'));
  await assert.rejects(result, { message: `dispatcher error for ref 'w': blocked: "first"` });
  b0.reject(new StepError('blocked: "second"'));
  assert.equal(b0.signal.aborted, true);
  assert.equal(b1.signal.aborted, true);
  assert.equal(b2.signal.aborted, true);
  assert.deepEqual(afterSteps, ["/body~2"]);
});

Deno.test("fanout any takes the first success in time and aborts the rest", async () => {
  const { result, branch, afterSteps } = start("any", 3);
  const [b0, b1, b2] = await Promise.all([branch(0), branch(1), branch(2)]);
  b0.reject(new StepError("dispatch failed: x"));
  await Promise.resolve();
  b2.resolve("won");
  const items = ["i0", "i1", "i2"];
  assert.deepEqual(await result, { items, out: { items, item: "i2", done: "won" } });
  assert.equal(b1.signal.aborted, true);
  b1.resolve("late");
  assert.deepEqual(afterSteps, ["/body~2"]);
});

Deno.test("fanout any fails with the last failure when every branch fails", async () => {
  const { result, branch } = start("any", 2);
  const [b0, b1] = await Promise.all([branch(0), branch(1)]);
  b1.reject(new StepError("dispatch failed: one"));
  await new Promise((r) => setTimeout(r, 0));
  b0.reject(new StepError("dispatch failed: zero"));
  await assert.rejects(result, { message: "dispatcher error for ref 'w': dispatch failed: zero" });
});

Deno.test("fanout race settles with the first branch to succeed", async () => {
  const { result, branch } = start("race", 2);
  const [b0, b1] = await Promise.all([branch(0), branch(1)]);
  b1.resolve("fast");
  const items = ["i0", "i1"];
  assert.deepEqual(await result, { items, out: { items, item: "i1", done: "fast" } });
  assert.equal(b0.signal.aborted, true);
});

Deno.test("fanout race fails when the first branch to settle fails", async () => {
  const { result, branch } = start("race", 2);
  const [b0, b1] = await Promise.all([branch(0), branch(1)]);
  b1.reject(new StepError('blocked: "fast"'));
  await assert.rejects(result, { message: `dispatcher error for ref 'w': blocked: "fast"` });
  assert.equal(b0.signal.aborted, true);
});

Deno.test("fanout all_settled records every outcome in item order and never fails", async () => {
  const { result, branch } = start("all_settled", 3);
  const [b0, b1, b2] = await Promise.all([branch(0), branch(1), branch(2)]);
  b1.reject(new StepError('blocked: "NO"'));
  b2.resolve("two");
  b0.resolve("zero");
  const items = ["i0", "i1", "i2"];
  assert.deepEqual(await result, {
    items,
    out: [
      { status: "fulfilled", value: { items, item: "i0", done: "zero" } },
      { status: "rejected", reason: `dispatcher error for ref 'w': blocked: "NO"` },
      { status: "fulfilled", value: { items, item: "i2", done: "two" } },
    ],
  });
});

Deno.test("fanout branches abandoned by a join dispatch nothing further", async () => {
  const body: FlowNodeInput = {
    kind: "seq",
    children: [work, { kind: "step", ref: "second", in: "$.item", out: "$.again" }],
  };
  const { result, branch, dispatched, afterSteps } = start("race", 2, undefined, body);
  const [b0, b1] = await Promise.all([branch(0, "/children/0"), branch(1, "/children/0")]);
  b1.reject(new StepError("dispatch failed: stop"));
  await assert.rejects(result, FlowError);
  b0.resolve("late");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(dispatched, ["/body~0/children/0", "/body~1/children/0"]);
  assert.deepEqual(afterSteps, []);
  assert.equal(b0.signal.aborted, true);
});

Deno.test("fanout stops every branch when the run is cancelled, rejecting with its reason", async () => {
  for (const join of JOINS) {
    const controller = new AbortController();
    const { result, branch } = start(join, 2, controller.signal);
    const [b0, b1] = await Promise.all([branch(0), branch(1)]);
    const reason = new Error(`cancel ${join}`);
    controller.abort(reason);
    await assert.rejects(result, (e) => e === reason);
    assert.equal(b0.signal.aborted, true);
    assert.equal(b1.signal.aborted, true);
    assert.equal(b0.signal.reason, reason);
  }
});

Deno.test("fanout inside try: a branch failure is caught and the output rolled back", async () => {
  const flow: FlowNodeInput = {
    kind: "try",
    body: fanout(
      "all",
      { kind: "assign", at: "$.x", value: "if($.item == 2, 1 / 0, $.item)" },
      "[1, 2]",
    ),
    catch: { kind: "seq", children: [] },
    err_at: "$.err",
  };
  assert.deepEqual(await evalFlow(norm(flow), { a: 1 }, { dispatch: echo }), {
    a: 1,
    err: "arithmetic error in div: division by zero",
  });
});
