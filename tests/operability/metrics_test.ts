/**
 * `/v1/metrics` after scripted runs: counters, gauges and the round-trip
 * histogram fed by real settlements (SPEC §7).
 */
import assert from "node:assert/strict";
import { openSocket, startServer, type TestServer, until } from "../_helpers.ts";
import {
  fnBlueprint,
  get,
  nextOf,
  operatorAgentBlueprint,
  post,
  runEnded,
  seat,
  startRun,
} from "../engine/_loop.ts";
import type { WorkerResult } from "../../engine/faces.ts";
import { type Exposition, parsePrometheus } from "../../observe/parse_prometheus.ts";

async function scrape(server: TestServer): Promise<Exposition> {
  const res = await fetch(`${server.base}/v1/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheus(await res.text());
}

const http = (route: string, status: number) => ({ route, status: String(status) });

Deno.test("GET /v1/metrics counts a scripted operator run: runs, round trips, HTTP by route", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  await using _socket = op.ws;

  const runId = await startRun(server, {
    blueprint: {
      kind: "inline",
      value: operatorAgentBlueprint({ spawner_hints: { layers: ["senior_escalation"] } }),
    },
    init_ctx: {},
    operator: { senior_bridge_id: op.sid },
  });
  const spawn = await nextOf(op.ws, "spawn");
  const worker = { authorization: `Bearer ${spawn.worker_handle}` };
  assert.equal(
    (await get(server, `/v1/worker/prompt?task_id=${spawn.task_id}`, worker)).status,
    200,
  );
  const submitted = await fetch(`${server.base}/v1/worker/submit?ok=false`, {
    method: "POST",
    headers: { ...worker, "content-type": "text/plain" },
    body: "stuck",
  });
  assert.equal(submitted.status, 204);
  await submitted.body?.cancel();
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  const ask = await nextOf(op.ws, "ask");

  const waiting = await scrape(server);
  assert.equal(waiting.types.get("switchboard_pending_requests"), "gauge");
  assert.equal(waiting.value("switchboard_pending_requests", { kind: "ask" }), 1);
  assert.equal(waiting.value("switchboard_pending_requests", { kind: "spawn" }), 0);
  assert.equal(waiting.value("switchboard_operator_sessions", { state: "connected" }), 1);
  assert.equal(waiting.value("switchboard_operator_sessions", { state: "disconnected" }), 0);

  op.ws.send({ type: "answer", req_id: ask.req_id, value: { hint: "try v2" } });
  assert.equal((await runEnded(server, runId)).status, "succeeded");
  assert.equal((await get(server, "/v1/runs/run-nope")).status, 404);
  assert.equal((await get(server, "/no/such/path")).status, 404);
  assert.equal((await post(server, "/v1/healthz", {})).status, 405);

  const m = await scrape(server);
  assert.equal(m.value("switchboard_runs_total", { status: "succeeded" }), 1);
  assert.equal(m.value("switchboard_runs_total", { status: "failed" }), undefined);
  assert.equal(m.value("switchboard_hook_after_dropped_total"), 0);
  assert.equal(m.value("switchboard_pending_requests", { kind: "ask" }), 0);

  assert.equal(m.types.get("switchboard_operator_roundtrip_seconds"), "histogram");
  for (const kind of ["spawn", "ask"]) {
    const count = m.value("switchboard_operator_roundtrip_seconds_count", { kind });
    assert.equal(count, 1, `one ${kind} settled`);
    assert.equal(m.value("switchboard_operator_roundtrip_seconds_bucket", { kind, le: "+Inf" }), 1);
    const sum = m.value("switchboard_operator_roundtrip_seconds_sum", { kind })!;
    assert.ok(sum >= 0 && sum < 60, `${kind} round trip took ${sum}s`);
    const buckets = m.samples
      .filter((s) =>
        s.name === "switchboard_operator_roundtrip_seconds_bucket" && s.labels.kind === kind
      )
      .map((s) => s.value);
    assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b), "buckets are cumulative");
  }
  assert.equal(
    m.value("switchboard_operator_roundtrip_seconds_count", { kind: "hook_before" }),
    undefined,
  );

  assert.equal(m.types.get("switchboard_http_requests_total"), "counter");
  const counted = (route: string, status: number) =>
    m.value("switchboard_http_requests_total", http(route, status));
  assert.equal(counted("/v1/operators", 200), 1);
  assert.equal(counted("/v1/operators/:sid/ws", 101), 1);
  assert.equal(counted("/v1/runs", 202), 1);
  assert.equal(counted("/v1/worker/prompt", 200), 1);
  assert.equal(counted("/v1/worker/submit", 204), 1);
  assert.equal(counted("/v1/runs/:id", 200), 1);
  assert.equal(counted("/v1/runs/:id", 404), 1);
  assert.equal(counted("/v1/metrics", 200), 1, "the first scrape is counted by the second");
  assert.equal(counted("unmatched", 404), 1);
  assert.equal(counted("unmatched", 405), 1);
  for (const s of m.samples.filter((s) => s.name === "switchboard_http_requests_total")) {
    const route = s.labels.route;
    assert.ok(route === "unmatched" || route.startsWith("/"), route);
    for (const raw of [op.sid, runId, "run-nope", "/no/such/path", spawn.task_id]) {
      assert.ok(!route.includes(raw), `route label ${route} carries a raw path part`);
    }
  }
});

Deno.test("GET /v1/metrics counts a hook_after dropped while the operator is away", async () => {
  const release = Promise.withResolvers<WorkerResult>();
  await using server = await startServer({ functions: [["slow", () => release.promise]] });
  const minted = await server.mint();
  const runId = await startRun(server, {
    blueprint: {
      kind: "inline",
      value: fnBlueprint("slow", { spawner_hints: { layers: ["main_ai"] } }),
    },
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: minted.sid },
  });
  const ws = await openSocket(`${server.wsBase}/v1/operators/${minted.sid}/ws`, {
    token: minted.token,
  });
  const hb = await nextOf(ws, "hook_before");
  ws.send({ type: "hook_ack", req_id: hb.req_id, ok: true });
  await until(() => server.deps.sessions.get(minted.sid)!.pendingCount === 0);
  await ws.close();
  await until(() => server.deps.sessions.get(minted.sid)!.connected === false);
  release.resolve({ value: { built: 1 }, ok: true });
  assert.equal((await runEnded(server, runId)).status, "succeeded");

  const m = await scrape(server);
  assert.equal(m.value("switchboard_hook_after_dropped_total"), 1);
  assert.equal(m.value("switchboard_operator_roundtrip_seconds_count", { kind: "hook_before" }), 1);
  assert.equal(m.value("switchboard_operator_sessions", { state: "disconnected" }), 1);
});
