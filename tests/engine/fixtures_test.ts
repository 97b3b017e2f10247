/**
 * Fixtures A, B and C of reference/blueprint.md §5 and their variants, and every
 * expression-syntax case of §5.4, end to end: real server, real fetch, Blueprints
 * registered over HTTP or sent inline to `POST /v1/tasks` and `POST /v1/runs`.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Issue } from "../../protocol/issues.ts";
import type { Json } from "../../protocol/json.ts";
import type { WorkerFn } from "../../engine/workers/function.ts";
import { startServer, type TestServer } from "../_helpers.ts";
import { get, post, runEnded, startRun } from "./_loop.ts";
import {
  BRANCH_COND,
  FIXTURE_A,
  FIXTURE_B,
  FIXTURE_B_TEXT,
  FIXTURE_C,
  FIXTURE_C2,
  FIXTURE_C3,
  LOOP_COND,
} from "../../engine/blueprint/_fixtures.ts";
import { SPEC_ROWS } from "../../engine/expr/_spec_rows.ts";
import * as FLOW from "../../engine/flow/_fixtures.ts";

type Returns = Record<string, { ok: boolean; value: Json }>;
type Call = { ref: string; directive: string };

/** §5.0: one function per agent that ignores its input, recording `(ref, directive)`. */
function harness(returns: Returns) {
  const calls: Call[] = [];
  const functions: [string, WorkerFn][] = Object.entries(returns).map(([name, r]) => [
    name,
    (inv) => {
      calls.push({ ref: inv.agent, directive: inv.prompt });
      return Promise.resolve({ value: r.value, ok: r.ok });
    },
  ]);
  return { calls, functions };
}

const rustFn = (name: string) => ({ name, kind: "rust_fn", spec: { fn_id: name } });
const path = (at: string) => ({ op: "path", at });
const lit = (value: Json) => ({ op: "lit", value });
const assign = (at: string, value: unknown) => ({ kind: "assign", at: path(at), value });
const inline = (value: unknown) => ({ kind: "inline", value });
const byId = (id: string, version?: unknown) => ({
  kind: "id",
  id,
  ...(version ? { version } : {}),
});
const multiset = (calls: Call[]) => calls.map((c) => JSON.stringify(c)).sort();

// §5.1–§5.3: the fixtures' inputs, agent returns, calls and final ctx, as the
// flow evaluator's tests use them (engine/flow/_fixtures.ts).
const A_INIT = FLOW.FIXTURE_A.init_ctx;
const A_RETURNS = FLOW.FIXTURE_A.agent_returns;
const A_CALLS = FLOW.FIXTURE_A.expected_calls!;
const A_FINAL = FLOW.FIXTURE_A.expected_final_ctx;
const B_INIT = FLOW.FIXTURE_B.init_ctx;
const B_RETURNS = FLOW.FIXTURE_B.agent_returns;
const B_CALLS = FLOW.FIXTURE_B.expected_calls!;
const B_FINAL = FLOW.FIXTURE_B.expected_final_ctx;
const B2_RETURNS = FLOW.FIXTURE_B2_RETURNS;
const B2_CALLS = FLOW.FIXTURE_B2_CALLS;
const B2_FINAL = FLOW.FIXTURE_B2_FINAL_CTX;
const C_INIT = FLOW.FIXTURE_C.init_ctx;
const C_RETURNS = FLOW.FIXTURE_C.agent_returns;
const C_CALLS = FLOW.FIXTURE_C.expected_calls_unordered!;
const C_FINAL = FLOW.FIXTURE_C.expected_final_ctx;
const C2_FINAL = FLOW.FIXTURE_C2_FINAL_CTX;
const C_BLOCKED = `dispatcher error for ref 'reviewer': blocked: "NO"`;

async function withServer(returns: Returns, fn: (s: TestServer, calls: Call[]) => Promise<void>) {
  const { calls, functions } = harness(returns);
  await using server = await startServer({ functions });
  await fn(server, calls);
}

function task(server: TestServer, body: Record<string, unknown>) {
  return post(server, "/v1/tasks", body);
}

Deno.test("POST /v1/tasks runs fixture A inline: compact sorted directive, nested out", async () => {
  await withServer(A_RETURNS, async (server, calls) => {
    const res = await task(server, { blueprint: inline(FIXTURE_A), init_ctx: A_INIT });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      final_ctx: A_FINAL,
      bound_version: null,
      effective_ttl_secs: 60,
      ttl_source: "bp_metadata",
    });
    assert.deepEqual(calls, A_CALLS);
  });
});

Deno.test("POST /v1/tasks runs fixture A by id with latest, fixed and semver_req selectors", async () => {
  await withServer(A_RETURNS, async (server, calls) => {
    const reg = await post(server, "/v1/blueprints/fx-single-step", FIXTURE_A);
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const version = reg.body!.version as string;
    assert.match(version, /^[0-9a-f]{64}$/);
    const selectors = [
      undefined,
      { kind: "latest" },
      { kind: "fixed", value: version },
      { kind: "semver_req", req: "^1" },
      { kind: "semver_req", req: "=1.0.0" },
    ];
    for (const selector of selectors) {
      const res = await task(server, {
        blueprint: byId("fx-single-step", selector),
        init_ctx: A_INIT,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, {
        final_ctx: A_FINAL,
        bound_version: version,
        effective_ttl_secs: 60,
        ttl_source: "bp_metadata",
      });
    }
    assert.deepEqual(calls, Array.from({ length: selectors.length }, () => A_CALLS).flat());
    const none = await task(server, {
      blueprint: byId("fx-single-step", { kind: "semver_req", req: "^2" }),
      init_ctx: A_INIT,
    });
    assert.equal(none.status, 400);
    assert.equal(none.body!.error, "bp resolve: no version matches semver req: ^2");
  });
});

Deno.test("POST /v1/tasks takes ttl_secs from the body before the fixture's metadata", async () => {
  await withServer(A_RETURNS, async (server) => {
    const res = await task(server, { blueprint: inline(FIXTURE_A), init_ctx: A_INIT, ttl_secs: 5 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      final_ctx: A_FINAL,
      bound_version: null,
      effective_ttl_secs: 5,
      ttl_source: "request_body",
    });
  });
});

Deno.test("POST /v1/tasks runs fixture B: the loop stops silently at max, then escalates", async () => {
  await withServer(B_RETURNS, async (server, calls) => {
    const res = await task(server, { blueprint: inline(FIXTURE_B), init_ctx: B_INIT });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body!.final_ctx, B_FINAL);
    assert.equal(res.body!.ttl_source, "server_default");
    assert.equal(res.body!.effective_ttl_secs, 1800);
    assert.deepEqual(calls, B_CALLS);
  });
});

Deno.test("POST /v1/tasks runs fixture B2: a PASS verdict merges after one iteration", async () => {
  await withServer(B2_RETURNS, async (server, calls) => {
    const res = await task(server, { blueprint: inline(FIXTURE_B), init_ctx: B_INIT });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body!.final_ctx, B2_FINAL);
    assert.deepEqual(calls, B2_CALLS);
  });
});

Deno.test("fixture B in the text syntax compiles to the same trees and the same version", async () => {
  await withServer(B_RETURNS, async (server, calls) => {
    const tree = await post(server, "/v1/blueprints/fx-verdict-loop", FIXTURE_B);
    assert.equal(tree.status, 201, JSON.stringify(tree.body));
    // Same normalized document, so the same version: registering it again is a no-op.
    const text = await post(server, "/v1/blueprints/fx-verdict-loop", FIXTURE_B_TEXT);
    assert.equal(text.status, 200, JSON.stringify(text.body));
    assert.deepEqual(text.body, {
      id: "fx-verdict-loop",
      version: tree.body!.version,
      seeded: false,
    });
    const head = await get(server, "/v1/blueprints/fx-verdict-loop/head");
    const flow = (head.body!.blueprint as { flow: { children: Record<string, unknown>[] } }).flow;
    assert.deepEqual(flow.children[1].cond, LOOP_COND);
    assert.deepEqual(flow.children[2].cond, BRANCH_COND);

    const res = await task(server, { blueprint: inline(FIXTURE_B_TEXT), init_ctx: B_INIT });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body!.final_ctx, B_FINAL);
    assert.deepEqual(calls, B_CALLS);
  });
});

Deno.test("POST /v1/tasks runs fixture C: fanout all with try rollback per branch", async () => {
  await withServer(C_RETURNS, async (server, calls) => {
    const res = await task(server, { blueprint: inline(FIXTURE_C), init_ctx: C_INIT });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body!.final_ctx, C_FINAL);
    assert.deepEqual(multiset(calls), multiset(C_CALLS));
  });
});

Deno.test("POST /v1/tasks runs fixture C2: all_settled records the rejected branch", async () => {
  await withServer(C_RETURNS, async (server, calls) => {
    const res = await task(server, { blueprint: inline(FIXTURE_C2), init_ctx: C_INIT });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body!.final_ctx, C2_FINAL);
    assert.deepEqual(multiset(calls), multiset(C_CALLS));
  });
});

Deno.test("POST /v1/tasks fails fixture C3 (all without try) with 400 and the step error", async () => {
  await withServer(C_RETURNS, async (server) => {
    const res = await task(server, { blueprint: inline(FIXTURE_C3), init_ctx: C_INIT });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body!.error, `run: launch: flow eval: ${C_BLOCKED}`);
    assert.equal(res.body!.final_ctx, undefined);
  });
});

Deno.test("POST /v1/runs + GET /v1/runs/:id give the fixtures' final_ctx and steps", async () => {
  await withServer({ ...B_RETURNS, ...C_RETURNS }, async (server) => {
    const reg = await post(server, "/v1/blueprints/fx-verdict-loop", FIXTURE_B);
    assert.equal(reg.status, 201);
    const b = await runEnded(
      server,
      await startRun(server, { blueprint: byId("fx-verdict-loop"), init_ctx: B_INIT }),
    );
    assert.equal(b.status, "succeeded", JSON.stringify(b));
    assert.deepEqual(b.final_ctx, B_FINAL);
    assert.equal((b as { bound_version?: unknown }).bound_version, reg.body!.version);
    assert.deepEqual(b.steps.map((s) => s.agent), B_CALLS.map((c) => c.ref));
    assert.ok(b.steps.every((s) => s.verdict === "pass" && s.attempt === 1));

    const c = await runEnded(
      server,
      await startRun(server, { blueprint: inline(FIXTURE_C), init_ctx: C_INIT }),
    );
    assert.equal(c.status, "succeeded", JSON.stringify(c));
    assert.deepEqual(c.final_ctx, C_FINAL);
    assert.deepEqual(c.steps.map((s) => s.verdict).sort(), ["blocked", "pass", "pass"]);

    const c3 = await runEnded(
      server,
      await startRun(server, { blueprint: inline(FIXTURE_C3), init_ctx: C_INIT }),
    );
    assert.equal(c3.status, "failed");
    assert.equal(c3.error, C_BLOCKED);
    assert.equal(c3.final_ctx, undefined);
  });
});

// §5.4: every expression-syntax case (engine/expr/_spec_rows.ts), through a Blueprint.

/** A Blueprint that assigns `expr` at `$.result`, or branches on it (writing the arm taken). */
function exprBlueprint(id: string, expr: unknown, branch = false) {
  const flow = branch
    ? {
      kind: "branch",
      cond: expr,
      then: assign("$.result", lit("then")),
      else: assign("$.result", lit("else")),
    }
    : assign("$.result", expr);
  return { id, flow };
}

function matches(actual: unknown, expected: string | RegExp, prefix = "") {
  assert.equal(typeof actual, "string");
  if (typeof expected === "string") assert.equal(actual, `${prefix}${expected}`);
  else {
    assert.ok((actual as string).startsWith(prefix), String(actual));
    assert.match((actual as string).slice(prefix.length), expected);
  }
}

Deno.test("§5.4 expression cases run end to end through Blueprints", async (t) => {
  await using server = await startServer();
  for (const row of SPEC_ROWS) {
    // A row with a branch error runs as a branch cond; the others are assigned.
    const c = {
      ...row,
      ctx: row.ctx ?? {},
      branch: row.branchError !== undefined,
      error: row.branchError ?? row.error,
    };
    await t.step(`case ${c.n}: ${c.text}`, async () => {
      const id = `expr-${c.n}`;
      const reg = await post(server, `/v1/blueprints/${id}`, exprBlueprint(id, c.text, c.branch));
      const syntax = c.tree === undefined;
      if (syntax) {
        // A syntax error is a load-time 422 that points at the string.
        assert.equal(reg.status, 422, JSON.stringify(reg.body));
        matches(reg.body!.error, c.error!, "blueprint invalid: /flow/value: ");
        const issues = reg.body!.issues as Issue[];
        assert.deepEqual(issues[0].path, ["flow", "value"]);
        assert.equal(issues[0].pointer, "/flow/value");
        matches(issues[0].message, c.error!);
        const run = await post(server, "/v1/tasks", {
          blueprint: inline(exprBlueprint(id, c.text)),
          init_ctx: c.ctx,
        });
        assert.equal(run.status, 422, JSON.stringify(run.body));
        matches(run.body!.error, c.error!, "blueprint invalid: /flow/value: ");
        return;
      }
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      // The text compiles to exactly the documented tree.
      const head = await get(server, `/v1/blueprints/${id}/head`);
      const flow = (head.body!.blueprint as { flow: Record<string, unknown> }).flow;
      assert.deepEqual(c.branch ? flow.cond : flow.value, c.tree);
      // The text (by id) and the tree (inline) evaluate alike.
      for (const blueprint of [byId(id), inline(exprBlueprint(id, c.tree, c.branch))]) {
        const res = await post(server, "/v1/tasks", { blueprint, init_ctx: c.ctx });
        if (c.error !== undefined) {
          assert.equal(res.status, 400, JSON.stringify(res.body));
          matches(res.body!.error, c.error, "run: launch: flow eval: ");
        } else {
          assert.equal(res.status, 200, JSON.stringify(res.body));
          const ctx = c.ctx as Record<string, Json>;
          assert.deepEqual(res.body!.final_ctx, { ...ctx, result: c.result! });
        }
      }
    });
  }
});

Deno.test("a text expression works as a step input and renders as the directive", async () => {
  const { calls, functions } = harness({ impl: { ok: true, value: "done" } });
  await using server = await startServer({ functions });
  const res = await post(server, "/v1/tasks", {
    blueprint: inline({
      id: "text-in",
      agents: [rustFn("impl")],
      flow: {
        kind: "step",
        ref: "impl",
        in: `{"directive": $.plan, "n": len($.notes) * 2 + 1, "tag": concat("n=", $.n)}`,
        out: "$.out",
      },
    }),
    init_ctx: { plan: "P", notes: [1, 2], n: 3 },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body!.final_ctx, { plan: "P", notes: [1, 2], n: 3, out: "done" });
  assert.deepEqual(calls, [{ ref: "impl", directive: '{"directive":"P","n":5,"tag":"n=3"}' }]);
});
