/**
 * Conformance of SPEC §5 (runs, tasks) and §6 (Blueprints), with the engine
 * semantics of reference/blueprint.md §2, driven as an outside client: real HTTP
 * and a real operator socket. Each test pins a claim no other test covered.
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { openSocket, startServer, type TestServer, type TestSocket } from "../_helpers.ts";
import {
  FIXTURE_B,
  FIXTURE_B2_CALLS,
  FIXTURE_B2_FINAL_CTX,
  FIXTURE_B2_RETURNS,
} from "../../engine/flow/_fixtures.ts";

type Body = Record<string, unknown>;

async function send(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

async function nextOfType<T extends ServerFrame["type"]>(ws: TestSocket, type: T) {
  for (let i = 0; i < 50; i++) {
    const frame = await ws.next({ signal: AbortSignal.timeout(5_000) });
    if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
  }
  throw new Error(`no ${type} frame in 50 frames`);
}

/** Polls `GET /v1/runs/:id` until the run is no longer running. */
async function ended(server: TestServer, runId: string): Promise<Body> {
  for (let i = 0; i < 200; i++) {
    const run = await send(server, "GET", `/v1/runs/${runId}`);
    if (run.body.status !== "running") return run.body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`run ${runId} still running`);
}

const identity = (name: string) => ({ name, kind: "rust_fn", spec: { fn_id: "identity" } });
const ask = (question: string, out: string) => ({ kind: "ask", to: "rev", question, out });

/**
 * A black-box harness for the fixtures of reference/blueprint.md §5: every
 * `rust_fn` id is a sync webhook (engine.md §5.5) that ignores its input, answers
 * the fixture's `{ok, value}` and records `(agent, prompt)` as the call.
 */
async function fixtureHarness(returns: Record<string, { ok: boolean; value: unknown }>) {
  const calls: Array<{ ref: string; directive: string }> = [];
  const hooks = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json() as { agent: string; prompt: string };
    calls.push({ ref: body.agent, directive: body.prompt });
    const fn = new URL(req.url).pathname.slice(1);
    return Response.json(returns[fn]);
  });
  const table = Object.fromEntries(
    Object.keys(returns).map((
      fn,
    ) => [fn, { url: `http://127.0.0.1:${hooks.addr.port}/${fn}`, mode: "sync" }]),
  );
  const server = await startServer({ config: { webhooksJson: JSON.stringify(table) } });
  return {
    server,
    calls,
    async [Symbol.asyncDispose]() {
      await server.close();
      await hooks.shutdown();
    },
  };
}

const fnAgent = (name: string) => ({ name, kind: "rust_fn", spec: { fn_id: name } });
const p = (at: string) => ({ op: "path", at });
const lit = (value: unknown) => ({ op: "lit", value });

/** Fixture B of reference/blueprint.md §5 as a Blueprint whose agents are webhook functions. */
const FIXTURE_B_BLUEPRINT = {
  id: "fx-verdict-loop",
  flow: FIXTURE_B.flow,
  agents: Object.keys(FIXTURE_B.agent_returns).map(fnAgent),
};

/** Fixture B through `POST /v1/tasks`, its agents answered by the harness of `server`. */
function postFixtureB(server: TestServer) {
  return send(server, "POST", "/v1/tasks", {
    blueprint: { kind: "inline", value: FIXTURE_B_BLUEPRINT },
    init_ctx: FIXTURE_B.init_ctx,
  });
}

Deno.test("fixture B over webhook workers: calls in order, the loop stops at max, then escalates", async () => {
  await using h = await fixtureHarness(FIXTURE_B.agent_returns);
  const res = await postFixtureB(h.server);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.final_ctx, FIXTURE_B.expected_final_ctx);
  assert.deepEqual(h.calls, FIXTURE_B.expected_calls);
});

Deno.test("fixture B2 over webhook workers: a PASS verdict merges after one pass", async () => {
  await using h = await fixtureHarness(FIXTURE_B2_RETURNS);
  const res = await postFixtureB(h.server);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.final_ctx, FIXTURE_B2_FINAL_CTX);
  assert.deepEqual(h.calls, FIXTURE_B2_CALLS);
});

const researchThenReview = {
  kind: "seq",
  children: [
    { kind: "step", ref: "researcher", in: p("$.topic"), out: p("$.note") },
    {
      kind: "branch",
      cond: { op: "eq", lhs: p("$.topic"), rhs: lit("b") },
      then: { kind: "step", ref: "reviewer", in: p("$.note"), out: p("$.review") },
      else: { kind: "assign", at: p("$.review"), value: lit("AUTO_OK") },
    },
  ],
};

function fixtureC(join: string, body: unknown, out: string, countAt: string) {
  return {
    id: "fx-fanout-try",
    flow: {
      kind: "seq",
      children: [
        { kind: "fanout", items: p("$.topics"), bind: p("$.topic"), join, out: p(out), body },
        { kind: "assign", at: p(countAt), value: { op: "len", of: p(out) } },
      ],
    },
    agents: [fnAgent("researcher"), fnAgent("reviewer")],
  };
}

const C_RETURNS = {
  researcher: { ok: true, value: "NOTE" },
  reviewer: { ok: false, value: "NO" },
};
const BLOCKED_NO = `dispatcher error for ref 'reviewer': blocked: "NO"`;

Deno.test("fixtures C, C2 and C3 over webhook workers: fanout joins, try rollback, blocked text", async (t) => {
  await t.step("C: all with try", async () => {
    await using h = await fixtureHarness(C_RETURNS);
    const withTry = {
      kind: "try",
      body: researchThenReview,
      catch: { kind: "assign", at: p("$.review"), value: lit("SKIPPED") },
      err_at: p("$.error"),
    };
    const res = await send(h.server, "POST", "/v1/tasks", {
      blueprint: { kind: "inline", value: fixtureC("all", withTry, "$.notes", "$.note_count") },
      init_ctx: { topics: ["a", "b"] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.final_ctx, {
      topics: ["a", "b"],
      notes: [
        { topics: ["a", "b"], topic: "a", note: "NOTE", review: "AUTO_OK" },
        { topics: ["a", "b"], topic: "b", error: BLOCKED_NO, review: "SKIPPED" },
      ],
      note_count: 2,
    });
    const key = (c: { ref: string; directive: string }) => `${c.ref}:${c.directive}`;
    assert.deepEqual(h.calls.map(key).sort(), ["researcher:a", "researcher:b", "reviewer:NOTE"]);
  });
  await t.step("C2: all_settled without try", async () => {
    await using h = await fixtureHarness(C_RETURNS);
    const res = await send(h.server, "POST", "/v1/tasks", {
      blueprint: {
        kind: "inline",
        value: fixtureC("all_settled", researchThenReview, "$.settled", "$.settled_count"),
      },
      init_ctx: { topics: ["a", "b"] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.final_ctx, {
      topics: ["a", "b"],
      settled: [
        {
          status: "fulfilled",
          value: { topics: ["a", "b"], topic: "a", note: "NOTE", review: "AUTO_OK" },
        },
        { status: "rejected", reason: BLOCKED_NO },
      ],
      settled_count: 2,
    });
  });
  await t.step("C3: all without try fails the run with 400", async () => {
    await using h = await fixtureHarness(C_RETURNS);
    const res = await send(h.server, "POST", "/v1/tasks", {
      blueprint: {
        kind: "inline",
        value: fixtureC("all", researchThenReview, "$.settled", "$.settled_count"),
      },
      init_ctx: { topics: ["a", "b"] },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, `run: launch: flow eval: ${BLOCKED_NO}`);
  });
});

Deno.test("a fanout `any` winner cancels the losing branch's pending ask before the flow goes on", async () => {
  await using server = await startServer();
  const op = await server.mint(["rev"]);
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${op.sid}/ws`, {
    token: op.token,
  });
  const started = await send(server, "POST", "/v1/runs", {
    blueprint: {
      kind: "inline",
      value: {
        id: "any-abort",
        agents: [identity("quick")],
        flow: {
          kind: "seq",
          children: [{
            kind: "fanout",
            items: "[1, 2]",
            bind: "$.i",
            join: "any",
            out: "$.o",
            body: {
              kind: "branch",
              cond: "$.i == 1",
              then: ask("'slow'", "$.a"),
              else: { kind: "step", ref: "quick", in: "$.i", out: "$.r" },
            },
          }, ask("'next'", "$.n")],
        },
      },
    },
    init_ctx: {},
  });
  assert.equal(started.status, 202);
  const slow = await nextOfType(ws, "ask");
  assert.equal(slow.question, "slow");
  const cancel = await nextOfType(ws, "cancel");
  assert.equal(cancel.req_id, slow.req_id);
  const next = await nextOfType(ws, "ask");
  assert.equal(next.question, "next");
  // Answering the abandoned ask is refused; the live one finishes the run.
  ws.send({ type: "answer", req_id: slow.req_id, value: "late" });
  const refused = await nextOfType(ws, "error");
  assert.equal(refused.req_id, slow.req_id);
  ws.send({ type: "answer", req_id: next.req_id, value: "N" });
  const run = await ended(server, started.body.run_id as string);
  assert.equal(run.status, "succeeded");
  assert.deepEqual(run.final_ctx, {
    o: { i: 2, r: { by: "baseline-identity", agent: "quick", echoed: "2" } },
    n: "N",
  });
});

Deno.test("a spawn that fails (unknown agent, render error) leaves its step `failed`, never running", async (t) => {
  await using server = await startServer();
  await server.mint(["fx"]);
  const cases: Array<[string, Body, string]> = [
    [
      "unknown agent under strict_refs false",
      {
        id: "ghost",
        strategy: { strict_refs: false, strict_kind: true },
        flow: { kind: "step", ref: "ghost", in: "'x'", out: "$.o" },
      },
      "dispatcher error for ref 'ghost': dispatch failed: worker not registered: ghost",
    ],
    [
      "render error of the system prompt",
      {
        id: "render",
        operators: [{ name: "fx" }],
        agents: [{
          name: "w",
          kind: "operator",
          spec: { operator_ref: "fx" },
          profile: { system_prompt: "hi {{ nope }}" },
        }],
        flow: { kind: "step", ref: "w", in: "$.in", out: "$.o" },
      },
      "dispatcher error for ref 'w': dispatch failed: render system_prompt: template render failed: ",
    ],
  ];
  for (const [name, blueprint, error] of cases) {
    await t.step(name, async () => {
      const started = await send(server, "POST", "/v1/runs", {
        blueprint: { kind: "inline", value: blueprint },
        init_ctx: { in: { a: 1 } },
      });
      assert.equal(started.status, 202);
      const run = await ended(server, started.body.run_id as string);
      assert.equal(run.status, "failed");
      assert.ok(String(run.error).startsWith(error), String(run.error));
      assert.equal(run.final_ctx, undefined);
      const steps = run.steps as Body[];
      assert.equal(steps.length, 1);
      assert.equal(steps[0].verdict, "failed");
      assert.equal(typeof steps[0].finished_at, "string");
    });
  }
});
