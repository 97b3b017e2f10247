/**
 * `SWITCHBOARD_API_TOKEN` (SPEC §2): each admin route family answers 401 without
 * the token or with a wrong one and works with the right one; operator, worker
 * and public routes are unaffected; without the token the admin routes are open.
 */
import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { type AppDeps, createDeps } from "../../deps.ts";
import { until } from "../_helpers.ts";
import { operatorAgentBlueprint } from "../engine/_loop.ts";

const API_TOKEN = "api-token-for-tests-0123456789";
const ADMIN = { authorization: `Bearer ${API_TOKEN}` };

type App = ReturnType<typeof createApp>;

interface Call {
  method: string;
  path: string;
  body?: unknown;
  /** The status with the right token. */
  ok: number;
}

async function guarded() {
  const deps = await createDeps({ config: { apiToken: API_TOKEN } });
  return { deps, app: createApp(deps) };
}

async function send(
  app: App,
  call: Omit<Call, "ok">,
  headers: Record<string, string> = {},
): Promise<Response> {
  const json: Record<string, string> = call.body === undefined
    ? {}
    : { "content-type": "application/json" };
  return await app.request(call.path, {
    method: call.method,
    headers: { ...json, ...headers },
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
  });
}

/** Runs the matrix over `calls`, in order: none → 401, wrong → 401, right → `ok`. */
async function matrix(t: Deno.TestContext, app: App, calls: Call[]) {
  for (const call of calls) {
    await t.step(`${call.method} ${call.path}`, async () => {
      const refused: Array<Record<string, string>> = [
        {},
        { authorization: "Bearer wrong" },
        { authorization: "Basic x" },
      ];
      for (const headers of refused) {
        const res = await send(app, call, headers);
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
        assert.equal(typeof (await res.json()).error, "string");
      }
      const res = await send(app, call, ADMIN);
      const text = await res.text();
      assert.equal(res.status, call.ok, text);
    });
  }
}

/** Mints a seat with the admin token; the seat stays disconnected. */
async function mint(app: App, roles: string[] = []) {
  const res = await send(app, { method: "POST", path: "/v1/operators", body: { roles } }, ADMIN);
  assert.equal(res.status, 200);
  return await res.json() as { sid: string; token: string };
}

/** Starts a run whose operator agent waits on a disconnected seat; returns ids and the spawn. */
async function liveRun({ app, deps }: { app: App; deps: AppDeps }) {
  const seat = await mint(app, ["main-ai"]);
  const started = await send(app, {
    method: "POST",
    path: "/v1/runs",
    body: { blueprint: { kind: "inline", value: operatorAgentBlueprint() }, init_ctx: {} },
  }, ADMIN);
  assert.equal(started.status, 202);
  const { run_id } = await started.json();
  await until(() => (deps.sessions.get(seat.sid)?.pendingCount ?? 0) > 0);
  const pending = await app.request(`/v1/operators/${seat.sid}/pending`, {
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(pending.status, 200, "a seat's own routes take its token, not the API token");
  const [spawn] = (await pending.json()).pending;
  assert.equal(spawn.type, "spawn");
  return { runId: run_id as string, seat, spawn };
}

Deno.test("API token: mint and list operators need it; a seat's own routes do not", async (t) => {
  const { app } = await guarded();
  await matrix(t, app, [
    { method: "POST", path: "/v1/operators", body: { roles: ["a"] }, ok: 200 },
    { method: "GET", path: "/v1/operators", ok: 200 },
  ]);
  const seat = await mint(app);
  const own = await app.request(`/v1/operators/${seat.sid}`, {
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(own.status, 200);
  // The API token may read (and delete) any seat, e.g. one whose token is lost.
  const withAdmin = await app.request(`/v1/operators/${seat.sid}`, { headers: ADMIN });
  assert.equal(withAdmin.status, 200);
  const other = await app.request(`/v1/operators/${seat.sid}`, {
    headers: { authorization: "Bearer not-the-api-token" },
  });
  assert.equal(other.status, 401);
});

Deno.test("API token: tasks and runs need it", async (t) => {
  const { deps, app } = await guarded();
  const { runId } = await liveRun({ app, deps });
  await matrix(t, app, [
    {
      method: "POST",
      path: "/v1/tasks",
      body: { blueprint: { kind: "id", id: "main" }, init_ctx: {} },
      ok: 200,
    },
    {
      method: "POST",
      path: "/v1/runs",
      body: { blueprint: { kind: "id", id: "main" }, init_ctx: {} },
      ok: 202,
    },
    { method: "GET", path: "/v1/runs?limit=5", ok: 200 },
    { method: "GET", path: `/v1/runs/${runId}`, ok: 200 },
    { method: "DELETE", path: `/v1/runs/${runId}`, ok: 200 },
    { method: "GET", path: `/v1/runs/${runId}/events`, ok: 200 },
  ]);
  await deps.engine.allSettled();
});

Deno.test("API token: the Blueprint store needs it", async (t) => {
  const { app } = await guarded();
  const blueprint = {
    id: "guarded",
    agents: [{ name: "a", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: { kind: "step", ref: "a", in: "'x'", out: "$.r" },
  };
  await matrix(t, app, [
    { method: "GET", path: "/v1/blueprints", ok: 200 },
    { method: "POST", path: "/v1/blueprints/guarded", body: blueprint, ok: 201 },
    { method: "GET", path: "/v1/blueprints/guarded", ok: 200 },
    { method: "GET", path: "/v1/blueprints/guarded/head", ok: 200 },
    { method: "GET", path: "/v1/blueprints/guarded/history", ok: 200 },
  ]);
  const head = await (await app.request("/v1/blueprints/guarded/head", { headers: ADMIN })).json();
  await matrix(t, app, [
    { method: "GET", path: `/v1/blueprints/guarded/versions/${head.version}`, ok: 200 },
    { method: "DELETE", path: "/v1/blueprints/guarded", ok: 204 },
    { method: "POST", path: "/v1/blueprints/guarded/unarchive", ok: 204 },
  ]);
});

Deno.test("API token: sessions need it", async (t) => {
  const { app } = await guarded();
  await matrix(t, app, [
    {
      method: "POST",
      path: "/v1/sessions",
      body: { agent_id: "a", role: "observer", ttl_secs: 60 },
      ok: 200,
    },
  ]);
  // DELETE /v1/sessions carries the session id as its bearer (the credential),
  // so it is the one sessions route that does not take the API token.
  const attached = await send(app, {
    method: "POST",
    path: "/v1/sessions",
    body: { agent_id: "a", role: "observer", ttl_secs: 60 },
  }, ADMIN);
  const { session_id } = await attached.json();
  const cases: Array<[Record<string, string>, number]> = [
    [{}, 401],
    [ADMIN, 404],
    [{ authorization: `Bearer ${session_id}` }, 204],
  ];
  for (const [headers, status] of cases) {
    const res = await send(app, { method: "DELETE", path: "/v1/sessions" }, headers);
    assert.equal(res.status, status);
    await res.body?.cancel();
  }
});

Deno.test("API token: doctor needs it", async (t) => {
  const { app } = await guarded();
  await matrix(t, app, [{ method: "GET", path: "/v1/doctor", ok: 200 }]);
  const body = await (await app.request("/v1/doctor", { headers: ADMIN })).json();
  assert.equal(body.api_token_required, true);
});

Deno.test("API token: data reads need it; worker emits take worker credentials", async (t) => {
  const { deps, app } = await guarded();
  const { runId, spawn } = await liveRun({ app, deps });
  const emit = await app.request("/v1/data/emit", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${spawn.capability_token}`,
    },
    body: JSON.stringify({
      task_id: spawn.task_id,
      attempt: 1,
      producer_agent: "impl",
      event: { type: "progress", stage: "s" },
    }),
  });
  assert.equal(emit.status, 200);
  const { out_id } = await emit.json();
  await matrix(t, app, [
    { method: "GET", path: `/v1/data/${out_id}`, ok: 200 },
    { method: "GET", path: "/v1/data/impl", ok: 200 },
  ]);
  const prompt = await app.request(`/v1/worker/prompt?task_id=${spawn.task_id}`, {
    headers: { authorization: `Bearer ${spawn.capability_token}` },
  });
  assert.equal(prompt.status, 200, "worker routes take their own credentials");
  await prompt.body?.cancel();
  await send(app, { method: "DELETE", path: `/v1/runs/${runId}` }, ADMIN).then((r) => r.text());
  await deps.engine.allSettled();
});

Deno.test("API token: metrics need it", async (t) => {
  const { app } = await guarded();
  await matrix(t, app, [{ method: "GET", path: "/v1/metrics", ok: 200 }]);
});

Deno.test("API token: health, the OpenAPI document and the docs page stay open", async () => {
  const { app } = await guarded();
  for (const path of ["/v1/healthz", "/v1/openapi.json", "/docs", "/docs/assets/init.js"]) {
    const res = await app.request(path);
    assert.equal(res.status, 200, path);
    await res.body?.cancel();
  }
});

Deno.test("without SWITCHBOARD_API_TOKEN every admin route family is open", async () => {
  const deps = await createDeps();
  const app = createApp(deps);
  const calls: Array<Omit<Call, "ok"> & { ok: number }> = [
    { method: "POST", path: "/v1/operators", body: {}, ok: 200 },
    { method: "GET", path: "/v1/operators", ok: 200 },
    {
      method: "POST",
      path: "/v1/tasks",
      body: { blueprint: { kind: "id", id: "main" }, init_ctx: {} },
      ok: 200,
    },
    { method: "GET", path: "/v1/runs", ok: 200 },
    { method: "GET", path: "/v1/blueprints", ok: 200 },
    {
      method: "POST",
      path: "/v1/sessions",
      body: { agent_id: "a", role: "worker", ttl_secs: 5 },
      ok: 200,
    },
    { method: "GET", path: "/v1/doctor", ok: 200 },
    { method: "GET", path: "/v1/data/nothing-yet", ok: 404 },
    { method: "GET", path: "/v1/metrics", ok: 200 },
  ];
  for (const call of calls) {
    const res = await send(app, call);
    assert.equal(res.status, call.ok, `${call.method} ${call.path}: ${await res.text()}`);
  }
  const doctor = await (await app.request("/v1/doctor")).json();
  assert.equal(doctor.api_token_required, false);
});
