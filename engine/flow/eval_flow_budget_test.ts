import assert from "node:assert/strict";
import type { FlowNodeInput } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { type Dispatch, evalFlow, FlowError, type RunBudgets } from "./mod.ts";
import { norm } from "./_testing.ts";

const echo: Dispatch = ({ input }) => Promise.resolve(input);
const run = (flow: FlowNodeInput, ctx: Json = {}, budgets: Partial<RunBudgets> = {}) =>
  evalFlow(norm(flow), ctx, { dispatch: echo, budgets });
const budgetFailure = (p: Promise<unknown>, includes: string) =>
  assert.rejects(p, (e) => {
    assert.ok(e instanceof FlowError, String(e));
    assert.equal(e.kind, "budget");
    assert.match(e.message, /^budget exceeded: /);
    assert.ok(e.message.includes(includes), e.message);
    return true;
  });

/** Finding 1: each pass doubles the ctx; 40 passes would be 2^40 copies of `a`. */
const doubling: FlowNodeInput = {
  kind: "loop",
  counter: "$.i",
  cond: "true",
  max: 40,
  body: { kind: "assign", at: "$.a", value: { op: "array", items: ["$.a", "$.a"] } },
};

Deno.test("evalFlow() fails a run whose ctx would pass the ctx budget, quickly and without copying", async () => {
  const started = performance.now();
  await budgetFailure(run(doubling, { a: "x".repeat(100) }), "bytes of JSON");
  await budgetFailure(
    run(doubling, { a: "x".repeat(100) }, { maxValueBytes: 2 ** 30 }),
    "SWITCHBOARD_RUN_MAX_CTX_BYTES",
  );
  assert.ok(performance.now() - started < 2_000);
  // a try does not catch a budget failure
  await budgetFailure(
    run({ kind: "try", body: doubling, catch: { kind: "assign", at: "$.c", value: "1" } }, {
      a: 1,
    }, { maxCtxBytes: 10_000 }),
    "ctx would grow",
  );
});

Deno.test("evalFlow() fails a run whose value passes the value budget", async () => {
  await budgetFailure(
    run({ kind: "assign", at: "$.b", value: "[$.a, $.a, $.a]" }, { a: "x".repeat(100) }, {
      maxValueBytes: 200,
    }),
    "the assigned value is 310 bytes",
  );
  await budgetFailure(
    run({ kind: "step", ref: "s", in: "[$.a, $.a]", out: "$.r" }, { a: "x".repeat(100) }, {
      maxValueBytes: 200,
    }),
    "the input of step 's'",
  );
});

Deno.test("evalFlow() counts loop passes across the whole run", async () => {
  const loop = (counter: string): FlowNodeInput => ({
    kind: "loop",
    counter,
    cond: "true",
    max: 6,
    body: { kind: "assign", at: "$.x", value: "1" },
  });
  const flow: FlowNodeInput = { kind: "seq", children: [loop("$.i"), loop("$.j")] };
  assert.deepEqual(await run(flow, {}, { maxLoopIterations: 12 }), { i: 6, x: 1, j: 6 });
  await budgetFailure(run(flow, {}, { maxLoopIterations: 11 }), "too many loop passes");
});

Deno.test("evalFlow() refuses a fanout wider than its budget, even under all_settled", async () => {
  const fanout: FlowNodeInput = {
    kind: "fanout",
    items: "$.items",
    bind: "$.item",
    join: "all",
    out: "$.out",
    body: { kind: "step", ref: "s", in: "$.item", out: "$.r" },
  };
  await budgetFailure(
    run(fanout, { items: Array.from({ length: 11 }, (_, i) => i) }, { maxFanout: 10 }),
    "a fanout over 11 items",
  );
  const nested: FlowNodeInput = {
    kind: "fanout",
    items: "[1, 2]",
    bind: "$.item",
    join: "all_settled",
    out: "$.out",
    body: fanout,
  };
  await budgetFailure(
    run(nested, { items: Array.from({ length: 11 }, (_, i) => i) }, { maxFanout: 10 }),
    "SWITCHBOARD_RUN_MAX_FANOUT",
  );
});

Deno.test("evalFlow() fails nested fanouts whose branches alive at once pass the branch budget, quickly", async () => {
  // Each fanout is within SWITCHBOARD_RUN_MAX_FANOUT, but 1,000 x 1,000 branches took
  // 15 s, held the event loop for 10 s and 2.7 GB before the ctx budget stopped them.
  const nested = (depth: number): FlowNodeInput =>
    depth === 0 ? { kind: "assign", at: "$.z", value: "$.i" } : {
      kind: "fanout",
      items: "$.items",
      bind: "$.i",
      join: "all",
      out: "$.o",
      body: nested(depth - 1),
    };
  const items = Array.from({ length: 1_000 }, (_, i) => i);
  const started = performance.now();
  await budgetFailure(run(nested(2), { items }), "SWITCHBOARD_RUN_MAX_BRANCHES");
  await budgetFailure(run(nested(3), { items }), "fanout branches at once");
  assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
  // 10 x 100 fits in 1,010; the branches of a fanout that ended no longer count
  const small = { items: Array.from({ length: 10 }, (_, i) => i) };
  assert.equal(((await run(nested(2), small, { maxBranches: 110 })) as { o: Json[] }).o.length, 10);
  await budgetFailure(run(nested(2), small, { maxBranches: 109 }), "110 fanout branches");
  const loop: FlowNodeInput = {
    kind: "loop",
    counter: "$.n",
    cond: "true",
    max: 5,
    body: {
      kind: "fanout",
      items: "$.items",
      bind: "$",
      join: "all",
      out: "$.o",
      body: { kind: "assign", at: "$.z", value: "1" },
    },
  };
  const objects = { items: items.map((k) => ({ k })) };
  assert.equal((await run(loop, objects, { maxBranches: 1_000 }) as { n: number }).n, 5);
});

Deno.test("evalFlow() counts steps against the step budget", async () => {
  const flow: FlowNodeInput = {
    kind: "loop",
    counter: "$.i",
    cond: "true",
    max: 100,
    body: { kind: "step", ref: "s", in: "$.i", out: "$.r" },
  };
  await budgetFailure(run(flow, {}, { maxSteps: 50 }), "too many steps");
});

Deno.test("evalFlow() fails a run whose steps' inputs and outputs pass the history budget", async () => {
  const flow = (max: number): FlowNodeInput => ({
    kind: "loop",
    counter: "$.i",
    cond: "true",
    max,
    body: { kind: "step", ref: "s", in: "$.x", out: "$.r" },
  });
  // each pass: 1,002 bytes in, 1,002 out; 20 passes fit in 40,080
  const x = "x".repeat(1_000);
  await budgetFailure(
    run(flow(100), { x }, { maxHistoryBytes: 40_000 }),
    "this run's steps and asks would hold",
  );
  assert.equal(((await run(flow(19), { x }, { maxHistoryBytes: 40_000 })) as { r: string }).r, x);
});

Deno.test("evalFlow() shares the ctx between fanout branches instead of copying it", async () => {
  const big = { blob: "x".repeat(1_000_000) };
  const seen: Json[] = [];
  const started = performance.now();
  const final = await evalFlow(
    norm({
      kind: "fanout",
      items: "$.items",
      bind: "$.item",
      join: "all",
      out: "$.out",
      body: { kind: "assign", at: "$.r", value: "$.item" },
    }),
    { big, items: Array.from({ length: 1_000 }, (_, i) => i) },
    {
      dispatch: echo,
      budgets: { maxCtxBytes: 2 ** 30 },
      afterStep: ({ ctx }) => void seen.push(ctx),
    },
  ) as { big: unknown; out: { big: unknown; r: number }[] };
  assert.ok(performance.now() - started < 2_000);
  assert.equal(final.out.length, 1_000);
  assert.equal(final.out[999].r, 999);
  assert.equal(final.out[0].big, final.big); // one object, not 1,000 copies
});

Deno.test("evalFlow() lets the event loop run while it works", async () => {
  // a loop of cheap nodes that would run for seconds without a turn
  const flow: FlowNodeInput = {
    kind: "loop",
    counter: "$.i",
    cond: "true",
    max: 200_000,
    body: { kind: "assign", at: "$.x", value: "[$.i, $.i]" },
  };
  // Up to three tries: a busy machine (other processes on the same cores) can delay one timer
  // turn past the bound, but a run that holds the loop for the whole second fails every try.
  let longest = Infinity;
  for (let attempt = 0; attempt < 3 && longest >= 150; attempt++) {
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 1);
    try {
      await run(flow, {}, { maxLoopIterations: 200_000 });
    } finally {
      clearInterval(timer);
    }
    assert.ok(gaps.length > 10, `only ${gaps.length} timer turns`);
    longest = Math.max(...gaps);
  }
  assert.ok(longest < 150, `the longest stall was ${longest} ms`);
});

Deno.test("evalFlow() refuses a write that would copy an object wider than the write-keys budget", async () => {
  const wide: Record<string, Json> = {};
  for (let i = 0; i < 300; i++) wide[`k${i}`] = i;
  const into = (at: string): FlowNodeInput => ({
    kind: "assign",
    at,
    value: { op: "lit", value: 1 },
  });
  await budgetFailure(
    run(into("$.wide.x"), { wide }, { maxWriteKeys: 256 }),
    "a write would copy an object of 300 keys (limit 256, SWITCHBOARD_RUN_MAX_WRITE_KEYS)",
  );
  // the root ctx is copied by every write, in a fanout branch too
  await budgetFailure(
    run(into("$.y"), wide, { maxWriteKeys: 256 }),
    "SWITCHBOARD_RUN_MAX_WRITE_KEYS",
  );
  await budgetFailure(
    run(
      {
        kind: "fanout",
        items: "$.items",
        bind: "$.i",
        join: "all",
        out: "$.o",
        body: into("$.z"),
      },
      { ...wide, items: [1, 2] },
      { maxWriteKeys: 256 },
    ),
    "SWITCHBOARD_RUN_MAX_WRITE_KEYS",
  );
  // within it, the same writes succeed
  const ok = await run(into("$.wide.x"), { wide }, { maxWriteKeys: 300 }) as {
    wide: Record<string, Json>;
  };
  assert.equal(ok.wide.x, 1);
});
