/**
 * `GET /v1/doctor`: the 0.1.2 fields plus store, seats, pending and uptime (SPEC §7).
 */
import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";
import { DoctorReport } from "../../protocol/operability.ts";
import { startServer } from "../_helpers.ts";
import { startTask } from "../hostile/_task_start.ts";
import { nextOf, operatorAgentBlueprint, seat, startRun } from "../engine/_loop.ts";

Deno.test("GET /v1/doctor reports the 0.1.2 fields, the store and the uptime", async () => {
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const deps = await createDeps({ now: () => clock, config: { host: "::1", port: 7778 } });
  const app = createApp(deps);
  clock += 12_500;
  const res = await app.request("/v1/doctor");
  assert.equal(res.status, 200);
  const body = DoctorReport.parse(await res.json());
  assert.deepEqual(body, {
    bind: "[::1]:7778",
    blueprint_backend: "in_memory",
    blueprint_store_root: null,
    blueprint_ref_base: null,
    enhance_flow_enabled: false,
    seed_blueprint_id: "main",
    registered_blueprint_ids: ["main"],
    registered_blueprint_count: 1,
    store: { kind: "memory", path: null },
    sessions: { total: 0, connected: 0, disconnected: 0 },
    pending: { total: 0, ask: 0, hook_before: 0, spawn: 0 },
    live_runs: 0,
    api_token_required: false,
    started_at: "2026-01-01T00:00:00.000Z",
    uptime_secs: 12.5,
  });
});

Deno.test("GET /v1/doctor counts seats, pending requests and live runs", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  await using _socket = op.ws;
  await server.mint();
  await startRun(server, {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: {},
  });
  await nextOf(op.ws, "spawn");
  const body = DoctorReport.parse(await (await fetch(`${server.base}/v1/doctor`)).json());
  assert.deepEqual(body.sessions, { total: 2, connected: 1, disconnected: 1 });
  assert.deepEqual(body.pending, { total: 1, ask: 0, hook_before: 0, spawn: 1 });
  assert.equal(body.live_runs, 1);
});

Deno.test("deno task start: doctor's bind is the address bound, with the ref base and seed id set", async () => {
  const base = await Deno.makeTempDir({ prefix: "sb-doctor-" });
  try {
    await using server = await startTask(":memory:", {
      SWITCHBOARD_BLUEPRINT_REF_BASE: base,
      SWITCHBOARD_SEED_BLUEPRINT_ID: "start-here",
    });
    const url = await server.listening;
    const res = await fetch(`${url}/v1/doctor`);
    const body = DoctorReport.parse(await res.json());
    assert.equal(body.bind, new URL(url).host); // PORT=0: the port the OS picked
    assert.notEqual(new URL(url).port, "0");
    assert.equal(body.blueprint_ref_base, base);
    assert.equal(body.seed_blueprint_id, "start-here");
    assert.deepEqual(body.registered_blueprint_ids, ["start-here"]);
    const ran = await fetch(`${url}/v1/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ blueprint: { kind: "id", id: "start-here" }, init_ctx: {} }),
    });
    assert.equal(ran.status, 200);
    assert.equal((await ran.json()).final_ctx.out.echoed, "hello");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
  await using bad = await startTask(":memory:", { SWITCHBOARD_SEED_BLUEPRINT_ID: "no spaces" });
  assert.equal((await bad.status).code, 1);
  assert.match(bad.stderr(), /cannot start: SWITCHBOARD_SEED_BLUEPRINT_ID is not a valid/);
});
