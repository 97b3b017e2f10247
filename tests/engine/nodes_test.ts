/**
 * Each flow node kind's edge cases over HTTP (reference/blueprint.md §2.5, §2.8):
 * branch on a non-boolean, loop max and truthiness, try rollback, fanout joins
 * with a failing branch, steps and assigns, with the documented error texts and
 * statuses of `POST /v1/tasks`.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Issue } from "../../protocol/issues.ts";
import type { Json } from "../../protocol/json.ts";
import type { WorkerFn } from "../../engine/workers/function.ts";
import { startServer, type TestServer } from "../_helpers.ts";
import { get, post, runEnded, startRun } from "./_loop.ts";

type Call = { agent: string; prompt: string };

/** Workers for the tests: echo, blocked, throwing, and one that waits for its abort. */
function workers() {
  const calls: Call[] = [];
  const aborts: string[] = [];
  const waiting = Promise.withResolvers<void>();
  const record = (inv: { agent: string; prompt: string }) =>
    calls.push({ agent: inv.agent, prompt: inv.prompt });
  const functions: [string, WorkerFn][] = [
    ["echo", (inv) => {
      record(inv);
      return Promise.resolve({ value: inv.prompt, ok: true });
    }],
    ["nope", (inv) => {
      record(inv);
      return Promise.resolve({ value: { why: "no", code: 7 }, ok: false });
    }],
    ["boom", (inv) => {
      record(inv);
      return Promise.reject(new Error("boom"));
    }],
    ["wait", (inv) => {
      record(inv);
      waiting.resolve();
      return new Promise((_, reject) => {
        inv.signal.addEventListener("abort", () => {
          aborts.push(inv.prompt);
          reject(inv.signal.reason);
        }, { once: true });
      });
    }],
    // Fails once `wait` has started, so it always settles second.
    ["late_nope", async (inv) => {
      record(inv);
      await waiting.promise;
      return { value: "LATE", ok: false };
    }],
    // Echoes once `wait` has started.
    ["late_echo", async (inv) => {
      record(inv);
      await waiting.promise;
      return { value: inv.prompt, ok: true };
    }],
  ];
  return { calls, aborts, functions };
}

const AGENTS = ["echo", "nope", "boom", "wait", "late_nope", "late_echo"].map((name) => ({
  name,
  kind: "rust_fn",
  spec: { fn_id: name },
}));

const lit = (value: Json) => ({ op: "lit", value });
const seq = (...children: unknown[]) => ({ kind: "seq", children });
const NOOP = seq();
const assign = (at: string, value: unknown) => ({ kind: "assign", at, value });
const step = (ref: string, input: unknown, out: string) => ({ kind: "step", ref, in: input, out });
const branch = (cond: unknown, then: unknown, otherwise: unknown = NOOP) => ({
  kind: "branch",
  cond,
  then,
  else: otherwise,
});
const loop = (counter: string, cond: unknown, max: number, body: unknown) => ({
  kind: "loop",
  counter,
  cond,
  max,
  body,
});
const tryNode = (body: unknown, catchNode: unknown, errAt?: string) => ({
  kind: "try",
  body,
  catch: catchNode,
  ...(errAt === undefined ? {} : { err_at: errAt }),
});
const fanout = (items: unknown, join: string, body: unknown, out = "$.out", bind = "$.item") => ({
  kind: "fanout",
  items,
  bind,
  join,
  out,
  body,
});

function body(flow: unknown, initCtx: Json = {}, extra: Record<string, unknown> = {}) {
  return {
    blueprint: { kind: "inline", value: { id: "nodes", agents: AGENTS, flow, ...extra } },
    init_ctx: initCtx,
  };
}

async function ok(server: TestServer, flow: unknown, initCtx: Json = {}): Promise<Json> {
  const res = await post(server, "/v1/tasks", body(flow, initCtx));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body!.final_ctx as Json;
}

async function fails(server: TestServer, flow: unknown, initCtx: Json = {}): Promise<string> {
  const res = await post(server, "/v1/tasks", body(flow, initCtx));
  assert.equal(res.status, 400, JSON.stringify(res.body));
  const error = res.body!.error as string;
  const prefix = "run: launch: flow eval: ";
  assert.ok(error.startsWith(prefix), error);
  return error.slice(prefix.length);
}

// branch

Deno.test("branch fails on a non-boolean cond with the compact JSON of the value", async (t) => {
  await using server = await startServer({ functions: workers().functions });
  const cases: [Json, string][] = [
    [1, "1"],
    [0, "0"],
    ["true", `"true"`],
    [null, "null"],
    [[], "[]"],
    [{ b: 1, a: [true] }, `{"a":[true],"b":1}`],
  ];
  for (const [value, json] of cases) {
    await t.step(json, async () => {
      const flow = branch("$.v", assign("$.r", "'then'"), assign("$.r", "'else'"));
      assert.equal(
        await fails(server, flow, { v: value }),
        `branch cond must be boolean, got: ${json}`,
      );
    });
  }
  await t.step("strict booleans pick the arm", async () => {
    const flow = branch("$.v", assign("$.r", "'then'"), assign("$.r", "'else'"));
    assert.deepEqual(await ok(server, flow, { v: true }), { v: true, r: "then" });
    assert.deepEqual(await ok(server, flow, { v: false }), { v: false, r: "else" });
  });
});

Deno.test("branch evaluates only the chosen arm, and a missing cond path is an error", async () => {
  await using server = await startServer({ functions: workers().functions });
  const flow = branch("true", assign("$.r", "1"), assign("$.r", "1 / 0"));
  assert.deepEqual(await ok(server, flow), { r: 1 });
  assert.equal(await fails(server, branch("$.nope", NOOP)), "path not found: $.nope");
  const ifFlow = assign("$.r", { op: "if", cond: lit("yes"), then: lit(1), else: lit(2) });
  assert.equal(await fails(server, ifFlow), `if cond must be boolean, got: "yes"`);
});

Deno.test("a non-boolean branch error is caught by try like any other", async () => {
  await using server = await startServer({ functions: workers().functions });
  const flow = tryNode(branch("$.v", assign("$.r", "'then'")), assign("$.r", "'caught'"), "$.err");
  assert.deepEqual(await ok(server, flow, { v: "yes" }), {
    v: "yes",
    r: "caught",
    err: `branch cond must be boolean, got: "yes"`,
  });
});

// loop

Deno.test("loop stops silently at max with the counter equal to max", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const flow = loop("$.n", "true", 3, step("echo", `concat("pass ", $.n)`, "$.last"));
  assert.deepEqual(await ok(server, flow), { n: 3, last: "pass 2" });
  assert.deepEqual(w.calls.map((c) => c.prompt), ["pass 0", "pass 1", "pass 2"]);
});

Deno.test("loop with max 0 never evaluates cond nor runs the body", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const flow = loop("$.n", "1 / 0 == 1", 0, step("echo", "'x'", "$.r"));
  assert.deepEqual(await ok(server, flow), { n: 0 });
  assert.equal(w.calls.length, 0);
});

Deno.test("loop cond uses truthiness: only null and false stop it", async (t) => {
  await using server = await startServer({ functions: workers().functions });
  const flow = loop("$.n", "$.v", 2, assign("$.ran", "true"));
  for (const v of [0, "", [], {}, true, "no"] as Json[]) {
    await t.step(`truthy ${JSON.stringify(v)}`, async () => {
      assert.deepEqual(await ok(server, flow, { v }), { v, n: 2, ran: true });
    });
  }
  for (const v of [null, false] as Json[]) {
    await t.step(`falsy ${JSON.stringify(v)}`, async () => {
      assert.deepEqual(await ok(server, flow, { v }), { v, n: 0 });
    });
  }
});

Deno.test("loop counter is visible to cond and body, and the body cannot move it", async () => {
  await using server = await startServer({ functions: workers().functions });
  const counted = loop("$.i", "$.i < 2", 10, seq(assign("$.seen", "$.i"), assign("$.i", "100")));
  assert.deepEqual(await ok(server, counted), { i: 2, seen: 1 });
});

Deno.test("loop errors: a failing cond or body ends the run; under try they roll back", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  assert.equal(
    await fails(server, loop("$.n", "$.n < 'x'", 3, NOOP)),
    `type error in lt: expected number, got "x"`,
  );
  const failing = loop("$.n", "true", 3, step("nope", "'x'", "$.r"));
  assert.equal(
    await fails(server, failing),
    `dispatcher error for ref 'nope': blocked: {"code":7,"why":"no"}`,
  );
  assert.deepEqual(await ok(server, tryNode(failing, NOOP, "$.err"), { keep: 1 }), {
    keep: 1,
    err: `dispatcher error for ref 'nope': blocked: {"code":7,"why":"no"}`,
  });
});

// try

Deno.test("try rolls back every write of its body, then writes err_at and runs catch", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const flow = seq(
    assign("$.before", "1"),
    tryNode(
      seq(
        assign("$.before", "2"),
        assign("$.deep.a", "1"),
        loop("$.i", "true", 2, assign("$.looped", "true")),
        fanout("['x', 'y']", "all", assign("$.z", "$.item"), "$.fanned"),
        step("echo", "'work'", "$.echoed"),
        step("nope", "'fail'", "$.never"),
      ),
      assign("$.caught", "$.errors.last"),
      "$.errors.last",
    ),
  );
  const err = `dispatcher error for ref 'nope': blocked: {"code":7,"why":"no"}`;
  assert.deepEqual(await ok(server, flow, { keep: true }), {
    keep: true,
    before: 1,
    errors: { last: err },
    caught: err,
  });
  assert.deepEqual(w.calls.map((c) => c.agent), ["echo", "nope"]); // side effects stay done
});

Deno.test("try without err_at runs catch; a body that succeeds keeps its writes", async () => {
  await using server = await startServer({ functions: workers().functions });
  assert.deepEqual(
    await ok(server, tryNode(seq(assign("$.a", "1"), assign("$.b", "1 / 0")), assign("$.c", "3"))),
    {
      c: 3,
    },
  );
  assert.deepEqual(await ok(server, tryNode(assign("$.a", "1"), assign("$.c", "3"), "$.err")), {
    a: 1,
  });
});

Deno.test("a failing catch propagates its own error", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const flow = tryNode(step("nope", "'x'", "$.r"), step("boom", "'y'", "$.r"), "$.err");
  assert.equal(
    await fails(server, flow),
    "dispatcher error for ref 'boom': dispatch failed: worker fn returned error: boom",
  );
});

Deno.test("try catches every kind of evaluation error with its documented text", async (t) => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const cases: [string, unknown, string][] = [
    ["missing path", assign("$.r", "$.missing.deep"), "path not found: $.missing.deep"],
    ["index out of range", assign("$.r", "$.list[5]"), "path not found: $.list[5]"],
    ["order on a string", assign("$.r", `$.n > "a"`), `type error in gt: expected number, got "a"`],
    [
      "arithmetic on null",
      assign("$.r", "$.z + 1"),
      "type error in add: expected number, got null",
    ],
    ["division by zero", assign("$.r", "$.n / 0"), "arithmetic error in div: division by zero"],
    ["len of a number", assign("$.r", "len($.n)"), "type error in len: unsupported type 3"],
    [
      "in with a non-array haystack",
      assign("$.r", "'a' in $.s"),
      `type error in in: haystack must be an array, got "abc"`,
    ],
    [
      "fanout items not an array",
      fanout("$.s", "all", NOOP),
      `type error in fanout.items: expected array, got "abc"`,
    ],
    ["non-boolean branch", branch("$.n", NOOP), "branch cond must be boolean, got: 3"],
    [
      "blocked step",
      step("nope", "'x'", "$.r"),
      `dispatcher error for ref 'nope': blocked: {"code":7,"why":"no"}`,
    ],
    [
      "throwing worker",
      step("boom", "'x'", "$.r"),
      "dispatcher error for ref 'boom': dispatch failed: worker fn returned error: boom",
    ],
  ];
  for (const [name, failing, error] of cases) {
    await t.step(name, async () => {
      const init = { n: 3, z: null, s: "abc", list: [1] };
      assert.deepEqual(await ok(server, tryNode(failing, NOOP, "$.err"), init), {
        ...init,
        err: error,
      });
      assert.equal(await fails(server, failing, init), error);
    });
  }
});

// fanout

Deno.test("fanout all: a failing branch fails the run and aborts the others", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const flow = fanout(
    "['slow', 'bad']",
    "all",
    branch("$.item == 'slow'", step("wait", "$.item", "$.r"), step("late_nope", "$.item", "$.r")),
  );
  const runId = await startRun(server, body(flow));
  const run = await runEnded(server, runId);
  assert.equal(run.status, "failed");
  assert.equal(run.error, `dispatcher error for ref 'late_nope': blocked: "LATE"`);
  assert.deepEqual(w.aborts, ["slow"]);
  // The aborted branch's step ended with the run, not after it.
  const verdicts = Object.fromEntries(run.steps.map((s) => [s.agent, s.verdict]));
  assert.deepEqual(verdicts, { late_nope: "blocked", wait: "cancelled" });
});

Deno.test("fanout all_settled records a failing branch and never fails", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const flow = fanout(
    "[1, 2, 3]",
    "all_settled",
    branch("$.item == 2", step("nope", "$.item", "$.r"), assign("$.r", "$.item * 10")),
  );
  assert.deepEqual(await ok(server, flow, { k: "v" }), {
    k: "v",
    out: [
      { status: "fulfilled", value: { k: "v", item: 1, r: 10 } },
      {
        status: "rejected",
        reason: `dispatcher error for ref 'nope': blocked: {"code":7,"why":"no"}`,
      },
      { status: "fulfilled", value: { k: "v", item: 3, r: 30 } },
    ],
  });
});

Deno.test("fanout any: the first success wins; all failing gives the last failure", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const mixed = fanout(
    "['bad', 'good']",
    "any",
    branch("$.item == 'bad'", step("nope", "$.item", "$.r"), assign("$.r", "'fine'")),
  );
  assert.deepEqual(await ok(server, mixed), { out: { item: "good", r: "fine" } });

  // 'slow' fails in its dispatch, after 'fast' failed in an expression: the last
  // failure in time is the fanout's error, whatever the item order.
  const allFail = fanout(
    "['slow', 'fast']",
    "any",
    branch("$.item == 'slow'", step("boom", "$.item", "$.r"), assign("$.r", "1 / 0")),
  );
  assert.equal(
    await fails(server, allFail),
    "dispatcher error for ref 'boom': dispatch failed: worker fn returned error: boom",
  );
});

Deno.test("fanout race: the first branch to settle decides, failure or success", async (t) => {
  // `late_*` settle once `wait` has started, so `wait` is always in flight and loses.
  await t.step("a failure first fails the fanout", async () => {
    const w = workers();
    await using server = await startServer({ functions: w.functions });
    const flow = fanout(
      "['slow', 'bad']",
      "race",
      branch("$.item == 'slow'", step("wait", "$.item", "$.r"), step("late_nope", "$.item", "$.r")),
    );
    assert.equal(
      await fails(server, flow),
      `dispatcher error for ref 'late_nope': blocked: "LATE"`,
    );
    assert.deepEqual(w.aborts, ["slow"]);
  });
  await t.step("a success first wins, the loser is aborted", async () => {
    const w = workers();
    await using server = await startServer({ functions: w.functions });
    const flow = fanout(
      "['slow', 'quick']",
      "race",
      branch("$.item == 'slow'", step("wait", "$.item", "$.r"), step("late_echo", "$.item", "$.r")),
    );
    assert.deepEqual(await ok(server, flow), { out: { item: "quick", r: "quick" } });
    assert.deepEqual(w.aborts, ["slow"]);
  });
});

Deno.test("fanout: empty items give [], bind $ replaces the branch ctx, nothing leaks", async () => {
  await using server = await startServer({ functions: workers().functions });
  for (const join of ["all", "any", "race", "all_settled"]) {
    assert.deepEqual(await ok(server, fanout("[]", join, NOOP), { k: 1 }), { k: 1, out: [] });
  }
  assert.deepEqual(
    await ok(server, fanout("[{'x': 1}, 5]", "all", assign("$.seen", "true"), "$.out", "$"), {
      k: 1,
    }),
    { k: 1, out: [{ x: 1, seen: true }, { seen: true }] },
  );
  const leaky = seq(
    fanout("$.xs", "all", assign("$.k", "$.item")),
    assign("$.count", "len($.out)"),
  );
  assert.deepEqual(await ok(server, leaky, { xs: [1, 2], k: 0 }), {
    xs: [1, 2],
    k: 0,
    out: [{ xs: [1, 2], k: 1, item: 1 }, { xs: [1, 2], k: 2, item: 2 }],
    count: 2,
  });
});

Deno.test("fanout inside try: a failing branch rolls the whole fanout back", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const flow = tryNode(
    fanout("[1, 2]", "all", branch("$.item == 2", step("nope", "$.item", "$.r"), NOOP)),
    assign("$.recovered", "true"),
    "$.err",
  );
  assert.deepEqual(await ok(server, flow), {
    recovered: true,
    err: `dispatcher error for ref 'nope': blocked: {"code":7,"why":"no"}`,
  });
});

// step and assign

Deno.test("step renders its input as the directive: strings verbatim, the rest compact JSON", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const inputs: [unknown, string][] = [
    ["'plain text'", "plain text"],
    ["42", "42"],
    ["null", "null"],
    ["true", "true"],
    ["[1, 'a', null]", `[1,"a",null]`],
    [{ op: "lit", value: { z: 1, a: { y: [], b: "x" } } }, `{"a":{"b":"x","y":[]},"z":1}`],
  ];
  for (const [input] of inputs) await ok(server, step("echo", input, "$.r"));
  assert.deepEqual(w.calls.map((c) => c.prompt), inputs.map(([, directive]) => directive));
});

Deno.test("step input errors create no task; step errors carry the documented prefixes", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const res = await post(server, "/v1/tasks", body(step("echo", "$.missing", "$.r")));
  assert.equal(res.status, 400);
  assert.equal(res.body!.error, "run: launch: flow eval: path not found: $.missing");
  const run = await get(server, `/v1/runs/${res.body!.run_id}`);
  assert.deepEqual(run.body!.steps, []);
  assert.equal(w.calls.length, 0);

  // Without strict refs an unknown ref compiles, then fails at dispatch (catchable).
  const loose = {
    blueprint: {
      kind: "inline",
      value: {
        id: "loose",
        strategy: { strict_refs: false },
        flow: tryNode(step("ghost", "'x'", "$.r"), NOOP, "$.err"),
      },
    },
    init_ctx: {},
  };
  const caught = await post(server, "/v1/tasks", loose);
  assert.equal(caught.status, 200, JSON.stringify(caught.body));
  assert.deepEqual(caught.body!.final_ctx, {
    err: "dispatcher error for ref 'ghost': dispatch failed: worker not registered: ghost",
  });
});

Deno.test("assign writes create intermediates, replace non-objects and can replace the root", async () => {
  await using server = await startServer({ functions: workers().functions });
  assert.deepEqual(await ok(server, assign("$.a.b.c", "1"), { keep: 1 }), {
    keep: 1,
    a: { b: { c: 1 } },
  });
  assert.deepEqual(await ok(server, assign("$.s.x", "1"), { s: "text" }), { s: { x: 1 } });
  assert.deepEqual(await ok(server, assign("$", "{'fresh': true}"), { old: 1 }), { fresh: true });
  assert.deepEqual(await ok(server, assign("$.k", "1"), "not an object"), { k: 1 });
  assert.deepEqual(await ok(server, assign(`$["odd key"].v`, "$.items[1]"), { items: [0, 9] }), {
    items: [0, 9],
    "odd key": { v: 9 },
  });
});

Deno.test("POST /v1/tasks: compile errors of inline Blueprints answer 400 with 0.1.2 texts", async (t) => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "unknown fn_id",
      {
        agents: [{ name: "a", kind: "rust_fn", spec: { fn_id: "nope_fn" } }],
        flow: step("a", "'x'", "$.r"),
      },
      "agent 'a' spec invalid: fn_id 'nope_fn' not registered in factory",
    ],
    [
      "duplicate agent",
      {
        agents: [
          { name: "a", kind: "rust_fn", spec: { fn_id: "echo" } },
          { name: "a", kind: "rust_fn", spec: { fn_id: "echo" } },
        ],
        flow: step("a", "'x'", "$.r"),
      },
      "duplicate AgentDef name: a",
    ],
    [
      "unknown ref",
      { agents: [], flow: step("ghost", "'x'", "$.r") },
      "flow references agent 'ghost' but no AgentDef matches",
    ],
    [
      "lua agent",
      { agents: [{ name: "a", kind: "lua", spec: { fn_id: "x" } }], flow: NOOP },
      "unknown agent kind in SpawnerRegistry: Lua",
    ],
    [
      "operator_ref not in operators",
      { agents: [{ name: "a", kind: "operator", spec: { operator_ref: "x" } }], flow: NOOP },
      "agent 'a' operator_ref 'x' does not match any OperatorDef.name in Blueprint.operators " +
      "(defined: [])",
    ],
    [
      "operator_ref that no seat holds (reference/http.md §3.4: the text is exact)",
      {
        operators: [{ name: "x" }],
        agents: [{ name: "a", kind: "operator", spec: { operator_ref: "x" } }],
        flow: NOOP,
      },
      "agent 'a' spec invalid: operator_ref 'x' not registered in factory. Registered sids: " +
      "[<none>]. Hint: call mse_operator_join(roles=[...]) to mint the sid first.",
    ],
  ];
  for (const [name, value, error] of cases) {
    await t.step(name, async () => {
      const res = await post(server, "/v1/tasks", {
        blueprint: { kind: "inline", value: { id: "c", ...value } },
        init_ctx: {},
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body!.error, `run: launch: compile: ${error}`);
    });
  }
  assert.equal(w.calls.length, 0);
});

Deno.test("POST /v1/tasks answers 422 for an inline Blueprint of the wrong shape", async () => {
  await using server = await startServer({ functions: workers().functions });
  const res = await post(
    server,
    "/v1/tasks",
    body({ kind: "loop", counter: "$.n", cond: "true", body: NOOP }),
  );
  assert.equal(res.status, 422, JSON.stringify(res.body));
  const issues = res.body!.issues as Issue[];
  const max = issues.find((i) => i.pointer === "/blueprint/value/flow/max");
  assert.deepEqual(max?.path, ["blueprint", "value", "flow", "max"], JSON.stringify(issues));
  const bad = await post(server, "/v1/tasks", body(assign("$.r", "$.a ==")));
  assert.equal(bad.status, 422);
});

Deno.test("the run's TTL is a deadline for the whole run, which try cannot catch", async () => {
  const w = workers();
  await using server = await startServer({ functions: w.functions });
  const expired = await post(server, "/v1/tasks", {
    ...body(tryNode(step("echo", "'x'", "$.r"), assign("$.caught", "true"), "$.err")),
    ttl_secs: 0,
  });
  assert.equal(expired.status, 400, JSON.stringify(expired.body));
  assert.equal(expired.body!.error, "ttl expired: the run's TTL of 0 s has passed");

  const waiting = await post(server, "/v1/tasks", {
    ...body(tryNode(step("wait", "'long'", "$.r"), assign("$.caught", "true"), "$.err")),
    ttl_secs: 1,
  });
  assert.equal(waiting.status, 400, JSON.stringify(waiting.body));
  assert.equal(waiting.body!.error, "ttl expired: the run's TTL of 1 s has passed");
  assert.deepEqual(w.aborts, ["long"]);
  const run = await get(server, `/v1/runs/${waiting.body!.run_id}`);
  assert.equal(run.body!.status, "failed");
  assert.deepEqual((run.body!.steps as { verdict: string }[]).map((s) => s.verdict), [
    "cancelled",
  ]);
});
