import assert from "node:assert/strict";
import type { FlowNodeInput } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { type Dispatch, evalFlow, FlowError, StepError } from "./mod.ts";
import { fixtureDispatch, heldDispatch, norm } from "./_testing.ts";

const step = (ref: string, input: string, out: string): FlowNodeInput => ({
  kind: "step",
  ref,
  in: input,
  out,
});
const assign = (at: string, value: string): FlowNodeInput => ({ kind: "assign", at, value });
const seq = (...children: FlowNodeInput[]): FlowNodeInput => ({ kind: "seq", children });
const echo: Dispatch = ({ input }) => Promise.resolve(input);
const run = (flow: FlowNodeInput, ctx: Json = {}, dispatch: Dispatch = echo) =>
  evalFlow(norm(flow), ctx, { dispatch });
const rejectsWith = (p: Promise<unknown>, message: string) =>
  assert.rejects(p, (e) => {
    assert.ok(e instanceof FlowError, String(e));
    assert.equal(e.message, message);
    return true;
  });

Deno.test("evalFlow() step writes the dispatch value at out", async () => {
  assert.deepEqual(await run(step("a", "$.x", "$.y"), { x: 1 }), { x: 1, y: 1 });
});

Deno.test("evalFlow() step with a failing in never dispatches", async () => {
  const { dispatch, calls } = fixtureDispatch({});
  await rejectsWith(run(step("a", "$.missing", "$.y"), {}, dispatch), "path not found: $.missing");
  assert.equal(calls.length, 0);
});

Deno.test("evalFlow() step turns a StepError into a single-prefix dispatcher error", async () => {
  for (
    const detail of [
      'blocked: "NO"',
      "dispatch failed: worker fn returned error: boom",
      "start failed: token expired",
    ]
  ) {
    const failing: Dispatch = () => Promise.reject(new StepError(detail));
    await rejectsWith(
      run(step("gate", "$", "$.v"), {}, failing),
      `dispatcher error for ref 'gate': ${detail}`,
    );
  }
  const throwsNow: Dispatch = () => {
    throw new StepError("start failed: now");
  };
  await rejectsWith(
    run(step("g", "$", "$.v"), {}, throwsNow),
    "dispatcher error for ref 'g': start failed: now",
  );
});

Deno.test("evalFlow() passes other dispatcher errors through unchanged and try does not catch them", async () => {
  const bug = new TypeError("bug");
  const failing: Dispatch = () => Promise.reject(bug);
  const flow: FlowNodeInput = {
    kind: "try",
    body: step("a", "$", "$.v"),
    catch: assign("$.caught", "true"),
  };
  await assert.rejects(run(flow, {}, failing), (e) => e === bug);
  const undef = (() => Promise.resolve(undefined)) as unknown as Dispatch; // a buggy dispatcher
  await assert.rejects(run(step("a", "$", "$.v"), {}, undef), TypeError);
});

Deno.test("evalFlow() hands the dispatcher a private input and keeps a private copy of the result", async () => {
  const shared: Json = { deep: { v: 1 } };
  const dispatch: Dispatch = ({ input }) => {
    (input as { a: number[] }).a.push(99);
    return Promise.resolve(shared);
  };
  const flow = seq(step("s", "$.x", "$.y"), assign("$.y.deep.v", "2"));
  const final = await run(flow, { x: { a: [1] } }, dispatch);
  assert.deepEqual(final, { x: { a: [1] }, y: { deep: { v: 2 } } });
  assert.deepEqual(shared, { deep: { v: 1 } });
});

Deno.test("evalFlow() sends strings verbatim and everything else as sorted compact JSON", async () => {
  const { dispatch, calls } = fixtureDispatch({ a: { ok: true, value: 1 } });
  await run(
    seq(
      step("a", "$.s", "$.r"),
      step("a", "$.o", "$.r"),
      step("a", "$.n", "$.r"),
      step("a", "null", "$.r"),
    ),
    {
      s: "text",
      o: { z: [true], a: { y: 1, b: null } },
      n: 1.5,
    },
    dispatch,
  );
  assert.deepEqual(calls.map((c) => c.directive), [
    "text",
    '{"a":{"b":null,"y":1},"z":[true]}',
    "1.5",
    "null",
  ]);
});

Deno.test("evalFlow() leaves the caller's init ctx untouched", async () => {
  const init = { a: { b: 1 } };
  const final = await run(assign("$.a.b", "2"), init);
  assert.deepEqual(init, { a: { b: 1 } });
  assert.deepEqual(final, { a: { b: 2 } });
});

Deno.test("evalFlow() seq runs children in order, stops at the first failure, and [] is a no-op", async () => {
  assert.deepEqual(await run(seq(assign("$.a", "1"), assign("$.b", "$.a + 1"))), { a: 1, b: 2 });
  const { dispatch, calls } = fixtureDispatch({ a: { ok: true, value: 1 } });
  await rejectsWith(
    run(seq(step("a", "1", "$.x"), assign("$.y", "1 / 0"), step("a", "2", "$.z")), {}, dispatch),
    "arithmetic error in div: division by zero",
  );
  assert.equal(calls.length, 1);
  assert.deepEqual(await run(seq(), { k: 1 }), { k: 1 });
});

Deno.test("evalFlow() branch runs then or else on a strict boolean", async () => {
  const flow: FlowNodeInput = {
    kind: "branch",
    cond: "$.n > 1",
    then: assign("$.r", "'then'"),
    else: assign("$.r", "'else'"),
  };
  assert.deepEqual(await run(flow, { n: 2 }), { n: 2, r: "then" });
  assert.deepEqual(await run(flow, { n: 1 }), { n: 1, r: "else" });
});

Deno.test("evalFlow() branch refuses a non-boolean cond (§5.4 row 20)", async () => {
  const flow = (cond: string): FlowNodeInput => ({
    kind: "branch",
    cond,
    then: seq(),
    else: seq(),
  });
  await rejectsWith(run(flow("$.n"), { n: 1 }), "branch cond must be boolean, got: 1");
  await rejectsWith(run(flow("null"), {}), "branch cond must be boolean, got: null");
  await rejectsWith(
    run(flow("$.o"), { o: { b: 1, a: "x" } }),
    'branch cond must be boolean, got: {"a":"x","b":1}',
  );
});

Deno.test("evalFlow() loop with max 0 writes the counter and never evaluates cond", async () => {
  const flow: FlowNodeInput = {
    kind: "loop",
    counter: "$.n",
    cond: "1 / 0",
    body: assign("$.ran", "true"),
    max: 0,
  };
  assert.deepEqual(await run(flow), { n: 0 });
});

Deno.test("evalFlow() loop stops silently at max with the counter at max", async () => {
  const flow: FlowNodeInput = {
    kind: "loop",
    counter: "$.n",
    cond: "true",
    body: assign("$.seen", "$.n"),
    max: 3,
  };
  assert.deepEqual(await run(flow), { n: 3, seen: 2 });
});

Deno.test("evalFlow() loop stops when cond turns falsy, using flow truthiness", async () => {
  const flow: FlowNodeInput = {
    kind: "loop",
    counter: "$.i",
    cond: "$.go",
    body: assign("$.go", "if($.i >= 2, null, 0)"),
    max: 10,
  };
  assert.deepEqual(await run(flow, { go: 0 }), { go: null, i: 3 });
});

Deno.test("evalFlow() loop overwrites the body's own writes to the counter", async () => {
  const body = seq(assign("$.seen", "$.n"), assign("$.n", "100"));
  const flow: FlowNodeInput = { kind: "loop", counter: "$.n", cond: "$.n < 5", body, max: 3 };
  assert.deepEqual(await run(flow), { n: 3, seen: 2 });
});

Deno.test("evalFlow() loop propagates a body failure with the counter at the iteration", async () => {
  const flow: FlowNodeInput = {
    kind: "try",
    body: {
      kind: "loop",
      counter: "$.n",
      cond: "true",
      body: assign("$.x", "if($.n == 2, 1 / 0, $.n)"),
      max: 5,
    },
    catch: seq(),
    err_at: "$.err",
  };
  assert.deepEqual(await run(flow), { err: "arithmetic error in div: division by zero" });
  const inner = (flow as { body: FlowNodeInput }).body;
  await rejectsWith(run(inner), "arithmetic error in div: division by zero");
});

Deno.test("evalFlow() try keeps body writes on success and skips catch", async () => {
  const flow: FlowNodeInput = {
    kind: "try",
    body: assign("$.a", "1"),
    catch: assign("$.c", "1"),
    err_at: "$.e",
  };
  assert.deepEqual(await run(flow), { a: 1 });
});

Deno.test("evalFlow() try rolls back every body write, nested fanout output and loop counter included", async () => {
  const flow: FlowNodeInput = {
    kind: "try",
    body: seq(
      assign("$.keep.me", "'changed'"),
      {
        kind: "fanout",
        items: "[1, 2]",
        bind: "$.item",
        body: assign("$.sq", "$.item * $.item"),
        join: "all",
        out: "$.fan",
      },
      { kind: "loop", counter: "$.k", cond: "true", body: seq(), max: 2 },
      step("s", "$.fan[1].sq", "$.stepped"),
      assign("$.boom", "$.missing"),
    ),
    catch: assign("$.recovered", "$.error"),
    err_at: "$.error",
  };
  const { dispatch, calls } = fixtureDispatch({ s: { ok: true, value: "S" } });
  assert.deepEqual(await run(flow, { keep: { me: "orig" } }, dispatch), {
    keep: { me: "orig" },
    error: "path not found: $.missing",
    recovered: "path not found: $.missing",
  });
  assert.deepEqual(calls.map((c) => c.directive), ["4"]);
});

Deno.test("evalFlow() try without err_at just runs catch, and catch failures propagate", async () => {
  const flow = (c: FlowNodeInput): FlowNodeInput => ({
    kind: "try",
    body: assign("$.x", "1 / 0"),
    catch: c,
  });
  assert.deepEqual(await run(flow(assign("$.c", "1")), { a: 1 }), { a: 1, c: 1 });
  await rejectsWith(
    run(flow(assign("$.c", "'a' + 1"))),
    'type error in add: expected number, got "a"',
  );
});

Deno.test("evalFlow() try catches every kind of evaluation and step error", async () => {
  const cases: [FlowNodeInput, string][] = [
    [assign("$.x", "$.nope"), "path not found: $.nope"],
    [assign("$.x", "len(1)"), "type error in len: unsupported type 1"],
    [assign("$.x", "1 / 0"), "arithmetic error in div: division by zero"],
    [assign("$.x", "if(1, 2, 3)"), "if cond must be boolean, got: 1"],
    [
      { kind: "branch", cond: "'yes'", then: seq(), else: seq() },
      'branch cond must be boolean, got: "yes"',
    ],
    [
      { kind: "fanout", items: "{}", bind: "$.i", body: seq(), join: "all", out: "$.o" },
      "type error in fanout.items: expected array, got {}",
    ],
    [step("gate", "$", "$.v"), `dispatcher error for ref 'gate': blocked: {"why":"no"}`],
  ];
  const { dispatch } = fixtureDispatch({ gate: { ok: false, value: { why: "no" } } });
  for (const [body, message] of cases) {
    const flow: FlowNodeInput = { kind: "try", body, catch: seq(), err_at: "$.err" };
    assert.deepEqual(await run(flow, {}, dispatch), { err: message });
  }
});

Deno.test("evalFlow() assign writes values, replaces the root at $ and replaces non-object roots", async () => {
  assert.deepEqual(await run(assign("$.a.b", "{'c': [1, $.x]}"), { x: 2 }), {
    x: 2,
    a: { b: { c: [1, 2] } },
  });
  assert.deepEqual(await run(assign("$", "[1]"), { x: 2 }), [1]);
  assert.deepEqual(await run(seq(assign("$", "'s'"), assign("$.k", "1"))), { k: 1 });
  assert.deepEqual(await run(assign("$.k", "1"), null), { k: 1 });
});

Deno.test("evalFlow() assign copies values so later writes never alias", async () => {
  const final = await run(
    seq(assign("$.b", "$.a"), assign("$.b.x", "2"), assign("$.c", "$"), assign("$.c.a.x", "3")),
    { a: { x: 1 } },
  );
  assert.deepEqual(final, { a: { x: 1 }, b: { x: 2 }, c: { a: { x: 3 }, b: { x: 2 } } });
});

Deno.test("evalFlow() keeps __proto__ keys as data in every write", async () => {
  const ctx: Json = JSON.parse('{"__proto__":{"x":1}}');
  const final = await run(
    seq(
      assign("$.__proto__.y", "$.__proto__.x + 1"),
      step("s", "$.__proto__", "$.constructor.prototype"),
    ),
    ctx,
  );
  assert.equal(
    JSON.stringify(final),
    '{"__proto__":{"x":1,"y":2},"constructor":{"prototype":{"x":1,"y":2}}}',
  );
  assert.equal(Object.getPrototypeOf(final), Object.prototype);
  assert.equal(({} as Record<string, unknown>).y, undefined);
});

Deno.test("evalFlow() calls afterStep after the write, with the key and the root flag", async () => {
  const seen: Json[] = [];
  const flow = norm(seq(step("a", "1", "$.x"), {
    kind: "fanout",
    items: "[1]",
    bind: "$.i",
    body: step("b", "$.i", "$.y"),
    join: "all",
    out: "$.f",
  }));
  await evalFlow(flow, {}, {
    dispatch: echo,
    afterStep: async ({ key, ref, ctx, root }) => {
      await Promise.resolve();
      seen.push({ key, ref, ctx: structuredClone(ctx), root });
    },
  });
  assert.deepEqual(seen, [
    { key: "/children/0", ref: "a", ctx: { x: 1 }, root: true },
    { key: "/children/1/body~0", ref: "b", ctx: { x: 1, i: 1, y: 1 }, root: false },
  ]);
});

Deno.test("evalFlow() rejects at once with the reason of an already aborted signal", async () => {
  const { dispatch, calls } = fixtureDispatch({});
  const reason = new Error("gone");
  await assert.rejects(
    evalFlow(norm(step("a", "1", "$.x")), {}, { dispatch, signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  assert.equal(calls.length, 0);
});

Deno.test("evalFlow() stops a pending dispatch on abort with the unwrapped reason, past any try", async () => {
  const held = heldDispatch();
  const controller = new AbortController();
  const flow = norm({
    kind: "try",
    body: seq(step("a", "1", "$.x"), step("b", "2", "$.y")),
    catch: assign("$.c", "1"),
    err_at: "$.e",
  });
  const result = evalFlow(flow, {}, { dispatch: held.dispatch, signal: controller.signal });
  const first = await held.next("/body/children/0");
  const reason = new Error("cancelled by user");
  controller.abort(reason);
  await assert.rejects(result, (e) => e === reason);
  assert.equal(first.signal.aborted, true);
  first.resolve("late"); // a late answer changes nothing
});

Deno.test("evalFlow() yields to the event loop so a timeout can stop a long synchronous loop", async () => {
  const flow = norm({
    kind: "loop",
    counter: "$.n",
    cond: "true",
    body: assign("$.x", "$.n"),
    max: 4294967295,
  });
  const signal = AbortSignal.timeout(20);
  await assert.rejects(
    evalFlow(flow, {}, { dispatch: echo, signal }),
    (e) => e instanceof DOMException && e.name === "TimeoutError",
  );
});
