/**
 * Conformance of the Blueprint document, the flow IR and the expression language
 * (reference/blueprint.md §1–§3), driven as an outside client would:
 * `POST /v1/blueprints/:id`, `POST /v1/tasks` and `POST /v1/runs` over real HTTP,
 * with the built-in `identity` function. Only claims no other test covered (the
 * §5 fixtures are replayed in tests/engine/fixtures_test.ts and, over webhook
 * workers, in runs_blueprints_test.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import { startServer } from "../_helpers.ts";
import { hooksFired } from "../engine/_loop.ts";

type Body = { status: number; body: Record<string, Json> };

async function call(base: string, method: string, path: string, body?: unknown): Promise<Body> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const IDENTITY = { name: "a", kind: "rust_fn", spec: { fn_id: "identity" } };

/** A Blueprint that assigns `value` (an expression) at `$.r`. */
function assignBlueprint(id: string, value: unknown) {
  return { id, agents: [IDENTITY], flow: { kind: "assign", at: "$.r", value } };
}

// §3.5 prototype safety: `__proto__` is ordinary data, in every expression form.

Deno.test("an object expression keeps a __proto__ field, inline (either body check) and registered", async () => {
  await using server = await startServer();
  // JSON.parse makes "__proto__" an own key, as it is in the body a client sends.
  const doc = assignBlueprint(
    "proto",
    JSON.parse('{"op":"object","fields":{"__proto__":{"op":"path","at":"$.a"},"b":"2"}}'),
  );
  const expected = JSON.parse('{"a":1,"r":{"__proto__":1,"b":2}}');
  const inline = { blueprint: { kind: "inline", value: doc }, init_ctx: { a: 1 } };
  // The hand-checked body, and one the schema checks (an `operator` object is present).
  for (const body of [inline, { ...inline, operator: {} }]) {
    const res = await call(server.base, "POST", "/v1/tasks", body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.final_ctx, expected);
    assert.ok(Object.hasOwn(res.body.final_ctx as object, "a"));
  }
  const started = await call(server.base, "POST", "/v1/runs", { ...inline, operator: {} });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const deadline = Date.now() + 5_000;
  let run = await call(server.base, "GET", `/v1/runs/${started.body.run_id}`);
  while (run.body.status === "running" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    run = await call(server.base, "GET", `/v1/runs/${started.body.run_id}`);
  }
  assert.equal(run.body.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body.final_ctx, expected);

  const reg = await call(server.base, "POST", "/v1/blueprints/proto", doc);
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const byId = await call(server.base, "POST", "/v1/tasks", {
    blueprint: { kind: "id", id: "proto" },
    init_ctx: { a: 1 },
  });
  assert.equal(byId.status, 200, JSON.stringify(byId.body));
  assert.deepEqual(byId.body.final_ctx, expected);
});

// §1.7 strategy.strict_kind and §1.10 stage C: the order of the compile checks.

Deno.test("strict_kind false drops an agent whose kind has no worker: strict refs then refuse it, loose refs fail its step (catchable)", async () => {
  await using server = await startServer();
  const step = { kind: "step", ref: "a", in: "$.x", out: "$.y" };
  const tasks = (value: Record<string, unknown>) =>
    call(server.base, "POST", "/v1/tasks", {
      blueprint: { kind: "inline", value: { id: "kinds", ...value } },
      init_ctx: { x: 1 },
    });
  const blockAgent = [{ name: "a", kind: "agent_block" }];

  const strict = await tasks({ agents: blockAgent, flow: step });
  assert.equal(strict.status, 400, JSON.stringify(strict.body));
  assert.equal(
    strict.body.error,
    "run: launch: compile: unknown agent kind in SpawnerRegistry: AgentBlock",
  );

  const dropped = await tasks({ agents: blockAgent, strategy: { strict_kind: false }, flow: step });
  assert.equal(dropped.status, 400, JSON.stringify(dropped.body));
  assert.equal(
    dropped.body.error,
    "run: launch: compile: flow references agent 'a' but no AgentDef matches",
  );

  const loose = await tasks({
    agents: blockAgent,
    strategy: { strict_kind: false, strict_refs: false },
    flow: { kind: "try", body: step, catch: { kind: "seq", children: [] }, err_at: "$.err" },
  });
  assert.equal(loose.status, 200, JSON.stringify(loose.body));
  assert.deepEqual(loose.body.final_ctx, {
    x: 1,
    err: "dispatcher error for ref 'a': dispatch failed: worker not registered: a",
  });
});

Deno.test("compile checks run in the documented order: operator_ref first, then each agent in array order, then step refs", async () => {
  await using server = await startServer();
  const compile = async (agents: unknown[], operators: unknown[] = []) => {
    const res = await call(server.base, "POST", "/v1/tasks", {
      blueprint: {
        kind: "inline",
        value: {
          id: "order",
          agents,
          operators,
          flow: { kind: "step", ref: "ghost", in: "1", out: "$.r" },
        },
      },
      init_ctx: {},
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    return (res.body.error as string).replace("run: launch: compile: ", "");
  };
  const badFn = { name: "a", kind: "rust_fn", spec: { fn_id: "no_such_fn" } };
  const good = { name: "a", kind: "rust_fn", spec: { fn_id: "identity" } };
  const badRef = { name: "o", kind: "operator", spec: { operator_ref: "nobody" } };
  assert.equal(
    await compile([badFn, good, badRef], [{ name: "x" }, { name: "y" }]),
    "agent 'o' operator_ref 'nobody' does not match any OperatorDef.name in Blueprint.operators " +
      "(defined: [x, y])",
  );
  assert.equal(
    await compile([badFn, good]),
    "agent 'a' spec invalid: fn_id 'no_such_fn' not registered in factory",
  );
  assert.equal(
    await compile([good, { name: "b", kind: "lua", spec: { fn_id: "x" } }, good]),
    "unknown agent kind in SpawnerRegistry: Lua",
  );
  assert.equal(await compile([good, good]), "duplicate AgentDef name: a");
  assert.equal(await compile([good]), "flow references agent 'ghost' but no AgentDef matches");
});

// §1.6: the operator-kind cascade reads per-agent kinds as data, whatever the agent's
// name (reference/blueprint.md §3.5: keys such as `constructor` are ordinary data).

Deno.test("an agent named like an Object.prototype member takes the run's kind, not a prototype function", async (t) => {
  await using server = await startServer();
  for (const name of ["constructor", "toString", "__proto__"]) {
    await t.step(name, async () => {
      // the runtime global kind (tier 2) is main_ai; no per-agent kind is given
      const fired = await hooksFired(server, {
        id: "kinds",
        agents: [{ name, kind: "rust_fn", spec: { fn_id: "identity" } }],
        flow: { kind: "step", ref: name, in: "'x'", out: "$.r" },
      }, { kind: "main_ai" });
      assert.equal(fired, 1);
    });
  }
});

Deno.test("spawner_hints.layers keys named like Object.prototype members are unknown keys, skipped (§1.7)", async () => {
  await using server = await startServer();
  const layers = ["toString", "constructor", "hasOwnProperty", "valueOf", "__proto__"];
  const blueprint = {
    id: "layers",
    spawner_hints: { layers },
    agents: [IDENTITY],
    flow: { kind: "step", ref: "a", in: "'x'", out: "$.r" },
  };
  const res = await call(server.base, "POST", "/v1/tasks", {
    blueprint: { kind: "inline", value: blueprint },
    init_ctx: {},
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.final_ctx, {
    r: { by: "baseline-identity", agent: "a", echoed: "x" },
  });
  const reg = await call(server.base, "POST", "/v1/blueprints/layers", blueprint);
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  assert.equal((reg.body.warnings as string[]).length, layers.length);
});
