/**
 * Async runs on a real server booted the way main.ts boots (openDeps on Deno KV
 * `:memory:`): live events, cancel during pending operator requests, two runs on
 * one seat, and a `/v1/tasks` client that goes away.
 */
import assert from "node:assert/strict";
import { type OpenDeps, openDeps } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import type { WorkerFn } from "../../engine/workers/function.ts";
import { startServer, type TestServer } from "../_helpers.ts";
import {
  fnBlueprint,
  get,
  nextOf,
  operatorAgentBlueprint,
  runEnded,
  seat,
  startRun,
} from "../engine/_loop.ts";
import { readEvents } from "../durable/_child.ts";

/** A server on KV `:memory:`, closed (server, then store) on dispose. */
async function kvServer(functions: Array<[string, WorkerFn]> = []) {
  const deps: OpenDeps = await openDeps(defaultConfig({ kvPath: ":memory:" }), { functions });
  const server = await startServer({ deps });
  return {
    server,
    async [Symbol.asyncDispose]() {
      await server.close();
      await deps.close();
    },
  };
}

function inline(value: unknown) {
  return { kind: "inline", value };
}

async function del(server: TestServer, path: string) {
  const res = await fetch(`${server.base}${path}`, { method: "DELETE" });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const STUCK: [string, WorkerFn] = ["stuck", () => Promise.resolve({ value: "NO", ok: false })];

Deno.test("a late SSE watcher gets the whole history, and Last-Event-ID resumes without gaps", async () => {
  await using s = await kvServer();
  const { server } = s;
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint()),
    init_ctx: {},
  });
  const spawn = await nextOf(op.ws, "spawn");
  const early = await readEvents(server, runId, { stopAfter: 3 });
  assert.deepEqual(early.map((e) => e.event), [
    "run_started",
    "step_started",
    "operator_request_sent",
  ]);

  // events 4.. arrive while nobody watches
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: { built: true }, ok: true });
  const resumed = await readEvents(server, runId, { lastEventId: early.at(-1)!.id });
  const stitched = [...early, ...resumed];
  assert.deepEqual(stitched.map((e) => e.id), stitched.map((_, i) => i + 1), "no gap, no repeat");
  assert.equal(stitched.at(-1)!.event, "run_ended");
  assert.equal(stitched.at(-1)!.data.data.status, "succeeded");

  const late = await readEvents(server, runId);
  assert.deepEqual(late, stitched, "a watcher after the end replays everything");
  assert.deepEqual(late.map((e) => e.event), [
    "run_started",
    "step_started",
    "operator_request_sent",
    "operator_request_settled",
    "step_finished",
    "run_ended",
  ]);
  const tail = await readEvents(server, runId, { lastEventId: 5 });
  assert.deepEqual(tail.map((e) => e.id), [6]);
  await op.ws.close();
});

Deno.test("DELETE /v1/runs/:id during a pending spawn cancels it, the token answers 410, status cancelled", async () => {
  await using s = await kvServer();
  const { server } = s;
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint()),
    init_ctx: {},
  });
  const spawn = await nextOf(op.ws, "spawn");
  const auth = { authorization: `Bearer ${spawn.capability_token}` };
  assert.equal((await get(server, `/v1/worker/prompt?task_id=${spawn.task_id}`, auth)).status, 200);

  const cancelled = await del(server, `/v1/runs/${runId}`);
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.body.status, "cancelled");
  const cancel = await nextOf(op.ws, "cancel");
  assert.deepEqual(cancel, { type: "cancel", req_id: spawn.req_id, reason: "run_ended" });
  assert.equal((await get(server, `/v1/worker/prompt?task_id=${spawn.task_id}`, auth)).status, 410);
  assert.equal((await get(server, `/v1/runs/${runId}`)).body!.status, "cancelled");
  assert.equal((await del(server, `/v1/runs/${runId}`)).status, 410, "already ended");
  assert.equal((await del(server, "/v1/runs/run-nope")).status, 404);
  // (a `:memory:` store forgets the requests of a run once it ends: it never resumes it)
  assert.deepEqual(
    (await server.deps.stores.runs.listRequests(runId)).filter((r) => r.state === "pending"),
    [],
    "nothing left to replay",
  );
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  assert.equal((await nextOf(op.ws, "error")).req_id, spawn.req_id);
  await op.ws.close();
});

Deno.test("DELETE /v1/runs/:id during a pending ask cancels it and the run ends cancelled", async () => {
  await using s = await kvServer([STUCK]);
  const { server } = s;
  const op = await seat(server);
  const runId = await startRun(server, {
    blueprint: inline(fnBlueprint("stuck", { spawner_hints: { layers: ["senior_escalation"] } })),
    init_ctx: {},
    operator: { senior_bridge_id: op.sid },
  });
  const ask = await nextOf(op.ws, "ask");
  assert.equal((await del(server, `/v1/runs/${runId}`)).status, 200);
  assert.deepEqual(await nextOf(op.ws, "cancel"), {
    type: "cancel",
    req_id: ask.req_id,
    reason: "run_ended",
  });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "cancelled");
  assert.equal(run.error, "run cancelled");
  assert.deepEqual(run.steps.map((x) => x.verdict), ["cancelled"]);
  const pending = await get(server, `/v1/operators/${op.sid}/pending`, {
    authorization: `Bearer ${op.token}`,
  });
  assert.deepEqual(pending.body, { pending: [] });
  await op.ws.close();
});

Deno.test("two runs racing on one seat each get their own answer", async () => {
  await using s = await kvServer();
  const { server } = s;
  const op = await seat(server, ["main-ai"]);
  const body = { blueprint: inline(operatorAgentBlueprint()), init_ctx: {} };
  const [runA, runB] = await Promise.all([startRun(server, body), startRun(server, body)]);
  const spawns = [await nextOf(op.ws, "spawn"), await nextOf(op.ws, "spawn")];
  const byRun = new Map<string, (typeof spawns)[number]>();
  for (const spawn of spawns) {
    const task = await server.deps.engine.task(spawn.task_id);
    byRun.set(task!.run_id, spawn);
  }
  assert.equal(byRun.size, 2);
  // answer both in one burst, the second run first
  op.ws.send({ type: "spawn_ack", req_id: byRun.get(runB)!.req_id, value: "for B", ok: true });
  op.ws.send({ type: "spawn_ack", req_id: byRun.get(runA)!.req_id, value: "for A", ok: true });
  const [a, b] = await Promise.all([runEnded(server, runA), runEnded(server, runB)]);
  assert.deepEqual(a.final_ctx, { r: "for A" });
  assert.deepEqual(b.final_ctx, { r: "for B" });
  assert.deepEqual(op.ws.buffered().filter((f) => f.type === "error"), []);
  const list = await get(server, "/v1/runs?limit=5");
  const ids = (list.body!.runs as Array<{ run_id: string }>).map((r) => r.run_id);
  assert.deepEqual(ids.sort(), [runA, runB].sort());
  await op.ws.close();
});

Deno.test("a /v1/tasks client that goes away does not stop the run", async () => {
  await using s = await kvServer();
  const { server } = s;
  const op = await seat(server, ["main-ai"]);
  const client = new AbortController();
  const waiting = fetch(`${server.base}/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ blueprint: inline(operatorAgentBlueprint()), init_ctx: { k: 1 } }),
    signal: client.signal,
  });
  const spawn = await nextOf(op.ws, "spawn");
  client.abort();
  await assert.rejects(waiting);
  const task = await server.deps.engine.task(spawn.task_id);
  const runId = task!.run_id;
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "still done", ok: true });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded");
  assert.deepEqual(run.final_ctx, { k: 1, r: "still done" });
  await op.ws.close();
});

Deno.test("GET /v1/runs lists newest first, runs started in the same millisecond too", async () => {
  await using s = await kvServer();
  const { server } = s;
  const started: string[] = [];
  const body = {
    blueprint: inline({ id: "q", flow: { kind: "seq", children: [] } }),
    init_ctx: {},
  };
  // one after the other, as fast as the loopback goes: many share a millisecond
  for (let i = 0; i < 30; i++) started.push(await startRun(server, body));
  const list = await get(server, "/v1/runs?limit=30");
  const runs = list.body!.runs as Array<{ run_id: string; created_at: string }>;
  assert.deepEqual(runs.map((r) => r.run_id), started.toReversed());
  const limited = await get(server, "/v1/runs?limit=3");
  assert.deepEqual(
    (limited.body!.runs as Array<{ run_id: string }>).map((r) => r.run_id),
    started.toReversed().slice(0, 3),
  );
});
