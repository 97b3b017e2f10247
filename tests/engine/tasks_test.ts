import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps, type CreateDepsOptions } from "../../deps.ts";

async function appWith(options: CreateDepsOptions = {}) {
  const deps = await createDeps(options);
  return { deps, app: createApp(deps) };
}

function postTask(app: ReturnType<typeof createApp>, body: unknown) {
  return app.request("/v1/tasks", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

Deno.test("POST /v1/tasks runs the seed blueprint with the 0.1.2 final_ctx", async () => {
  const { app } = await appWith();
  const res = await postTask(app, { blueprint: { kind: "id", id: "main" }, init_ctx: {} });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.final_ctx, {
    out: { by: "baseline-identity", agent: "identity", echoed: "hello" },
  });
  assert.match(body.bound_version, /^[0-9a-f]{64}$/);
  assert.equal(body.effective_ttl_secs, 1800);
  assert.equal(body.ttl_source, "server_default");
});

Deno.test("POST /v1/tasks runs fixture A inline with rust_fn functions", async () => {
  const { app } = await appWith({
    functions: [["greeter", () => Promise.resolve({ value: "hello world", ok: true })]],
  });
  const res = await postTask(app, {
    blueprint: {
      kind: "inline",
      value: {
        id: "fx-single-step",
        flow: {
          kind: "step",
          ref: "greeter",
          in: { op: "path", at: "$.request" },
          out: { op: "path", at: "$.result.greeting" },
        },
        agents: [{ name: "greeter", kind: "rust_fn", spec: { fn_id: "greeter" } }],
        metadata: { version_label: "1.0.0", default_run_ttl_secs: 60 },
      },
    },
    init_ctx: { request: { name: "world", lang: "en" } },
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body, {
    final_ctx: { request: { name: "world", lang: "en" }, result: { greeting: "hello world" } },
    bound_version: null,
    effective_ttl_secs: 60,
    ttl_source: "bp_metadata",
  });
});

Deno.test("POST /v1/tasks answers 400 with the flow error when a step is blocked", async () => {
  const { app } = await appWith({
    functions: [["nope", () => Promise.resolve({ value: "NO", ok: false })]],
  });
  const res = await postTask(app, {
    blueprint: {
      kind: "inline",
      value: {
        id: "x",
        flow: { kind: "step", ref: "a", in: "'go'", out: "$.r" },
        agents: [{ name: "a", kind: "rust_fn", spec: { fn_id: "nope" } }],
      },
    },
    init_ctx: {},
    ttl_secs: 5,
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error, `run: launch: flow eval: dispatcher error for ref 'a': blocked: "NO"`);
});

Deno.test("POST /v1/tasks and /v1/runs read null optional fields as absent, as 0.1.2 does", async () => {
  const { app } = await appWith();
  const nulls = {
    blueprint: { kind: "id", id: "main" },
    init_ctx: {},
    ttl_secs: null,
    operator_sid: null,
    operator: { kind: null, id: null, spawn_hook_id: null, per_agent_kinds: null },
    seats: null,
  };
  const res = await postTask(app, nulls);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.ttl_source, "server_default");
  assert.equal(body.effective_ttl_secs, 1800);
  const run = await app.request("/v1/runs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(nulls),
  });
  assert.equal(run.status, 202, await run.text());
  // a wrong type is still refused
  const wrong = await postTask(app, { ...nulls, ttl_secs: "soon" });
  assert.equal(wrong.status, 422);
  assert.deepEqual((await wrong.json()).issues[0].path, ["ttl_secs"]);
});
