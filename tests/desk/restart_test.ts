/**
 * The desk across a SIGKILL: an ask node and a release_on_close, run-scoped
 * seat survive a restart of the server process on the same KV file.
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { openSocket, type TestSocket } from "../_helpers.ts";
import { call, readEvents, spawnServer, tempKv } from "../durable/_child.ts";

async function nextOf<T extends ServerFrame["type"]>(ws: TestSocket, type: T) {
  while (true) {
    const frame = await ws.next({ signal: AbortSignal.timeout(20_000) });
    if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
  }
}

Deno.test("SIGKILL during a pending ask node: the run's own seat and its ask come back, and the answer is audited once", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: {
      kind: "inline",
      value: {
        id: "desk-restart",
        flow: {
          kind: "ask",
          to: "reviewer",
          question: "$.draft",
          schema: { type: "string", enum: ["ship", "hold"] },
          out: "$.verdict",
        },
      },
    },
    init_ctx: { draft: "ship it?" },
    seats: [{ role: "reviewer" }],
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const runId = started.body!.run_id as string;
  const [seat] = started.body!.seats as Array<{ sid: string; token: string }>;
  const url = (base: string) => `${base}/v1/operators/${seat.sid}/ws?client=restart-test`;
  const ws1 = await openSocket(url(first.wsBase), { token: seat.token });
  const ask = await nextOf(ws1, "ask");
  assert.equal(ask.context?.run_id, runId);
  // a pong follows only once the request is durable
  ws1.send({ type: "ping" });
  await nextOf(ws1, "pong");
  await first.kill("SIGKILL");
  await ws1.closed;

  await using second = await spawnServer(kvFile.path);
  const ws2 = await openSocket(url(second.wsBase), { token: seat.token });
  const replayed = await nextOf(ws2, "ask");
  assert.deepEqual(replayed, ask);
  ws2.send({ type: "answer", req_id: ask.req_id, value: "maybe" });
  assert.equal((await nextOf(ws2, "error")).issues?.[0].path, "/");
  ws2.send({ type: "answer", req_id: ask.req_id, value: "ship" });
  const events = await readEvents(second, runId);
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, { draft: "ship it?", verdict: "ship" });
  const requests = run.body!.requests as Array<Record<string, unknown>>;
  assert.equal(requests.length, 1);
  assert.deepEqual(requests[0].by, { sid: seat.sid, roles: ["reviewer"], client: "restart-test" });
  assert.equal(requests[0].value, "ship");
  const sent = events.filter((e) => e.event === "operator_request_sent");
  assert.equal(sent.length, 1, "the ask was made once");
  // the run's own seat ended with the run
  assert.equal((await ws2.closed).code, 4001);
  const gone = await call(second, "GET", `/v1/operators/${seat.sid}`, undefined, {
    authorization: `Bearer ${seat.token}`,
  });
  assert.equal(gone.status, 404);
});

Deno.test("SIGKILL with a nested ask pending: after the restart the worker polls it to its answer", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const minted = await call(first, "POST", "/v1/operators", { roles: ["main-ai"] });
  const { sid, token } = minted.body as { sid: string; token: string };
  const ws1 = await openSocket(`${first.wsBase}/v1/operators/${sid}/ws`, { token });
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: {
      kind: "inline",
      value: {
        id: "nested-restart",
        operators: [{ name: "main-ai" }],
        agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } }],
        flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
      },
    },
    init_ctx: {},
  });
  const runId = started.body!.run_id as string;
  const spawn = await nextOf(ws1, "spawn");
  const auth = { authorization: `Bearer ${spawn.worker_handle}` };
  const asked = await call(
    first,
    "POST",
    "/v1/worker/ask",
    { question: "which?", wait_secs: 0 },
    auth,
  );
  assert.equal(asked.status, 202);
  const reqId = asked.body!.req_id as string;
  assert.equal((await nextOf(ws1, "ask")).req_id, reqId);
  ws1.send({ type: "ping" }); // the pong comes once the ask is durable
  await nextOf(ws1, "pong");
  await first.kill("SIGKILL");
  await ws1.closed;

  await using second = await spawnServer(kvFile.path);
  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  assert.equal((await nextOf(ws2, "spawn")).req_id, spawn.req_id);
  const replayed = await nextOf(ws2, "ask");
  assert.equal(replayed.req_id, reqId);
  assert.equal(replayed.parent_req_id, spawn.req_id);
  const pending = await call(second, "GET", `/v1/worker/ask/${reqId}`, undefined, auth);
  assert.deepEqual(pending.body, { req_id: reqId, state: "pending" });
  ws2.send({ type: "answer", req_id: reqId, value: "left" });
  const settled = await call(
    second,
    "GET",
    `/v1/worker/ask/${reqId}?wait_secs=10`,
    undefined,
    auth,
  );
  assert.deepEqual(settled.body, { req_id: reqId, state: "settled", value: "left" });
  ws2.send({ type: "spawn_ack", req_id: spawn.req_id, value: "done" });
  await readEvents(second, runId);
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  await ws2.close();
});
