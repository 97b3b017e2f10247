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
  assert.deepEqual((await nextOf(ws2, "error")).issues?.[0], {
    path: [],
    pointer: "",
    message: "must be equal to one of the allowed values",
  });
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

Deno.test("SIGKILL during an ask node's timeout: it counts from the first send, and an escalation goes on after a restart", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const seatOf = async (roles: string[]) =>
    (await call(first, "POST", "/v1/operators", { roles })).body as { sid: string; token: string };
  const reviewer = await seatOf(["reviewer"]);
  const lead = await seatOf(["lead"]);
  const ws = (base: string, s: { sid: string; token: string }) =>
    openSocket(`${base}/v1/operators/${s.sid}/ws`, { token: s.token });
  const body = (id: string, timeout_secs: number) => ({
    blueprint: {
      kind: "inline",
      value: {
        id,
        flow: {
          kind: "ask",
          to: "reviewer",
          question: "'ok?'",
          timeout_secs,
          on_timeout: { kind: "escalate", to: "lead", timeout_secs: 600 },
          out: "$.a",
        },
      },
    },
    init_ctx: {},
  });
  const r1 = await ws(first.wsBase, reviewer);
  const l1 = await ws(first.wsBase, lead);
  // run A: killed while the reviewer's 6 s run; run B: killed during its escalation
  const runA = (await call(first, "POST", "/v1/runs", body("a", 6))).body!.run_id as string;
  const askA = await nextOf(r1, "ask");
  const askedAt = Date.now();
  const runB = (await call(first, "POST", "/v1/runs", body("b", 2))).body!.run_id as string;
  const askB = await nextOf(r1, "ask");
  assert.equal((await nextOf(r1, "cancel")).req_id, askB.req_id);
  const escalatedB = await nextOf(l1, "ask");
  r1.send({ type: "ping" });
  await nextOf(r1, "pong");
  l1.send({ type: "ping" });
  await nextOf(l1, "pong");
  await first.kill("SIGKILL");

  await using second = await spawnServer(kvFile.path);
  const r2 = await ws(second.wsBase, reviewer);
  const l2 = await ws(second.wsBase, lead);
  assert.equal((await nextOf(r2, "ask")).req_id, askA.req_id); // replayed, not asked again
  const restartedAt = Date.now();
  // A's timeout ends 6 s after its first send, not 6 s after the restart
  assert.deepEqual(await nextOf(r2, "cancel"), {
    type: "cancel",
    req_id: askA.req_id,
    reason: "timeout",
  });
  const cancelledAt = Date.now();
  assert.ok(
    cancelledAt - askedAt < 6_000 + (restartedAt - askedAt) - 500,
    `cancelled ${cancelledAt - askedAt} ms after the ask, ${
      restartedAt - askedAt
    } ms of it before the restart`,
  );
  const escalated = [await nextOf(l2, "ask"), await nextOf(l2, "ask")];
  const byRun = new Map(escalated.map((f) => [f.context?.run_id, f]));
  assert.equal(byRun.get(runB)?.req_id, escalatedB.req_id, "B's escalation is replayed");
  assert.ok(byRun.get(runA), "A escalates to the lead");
  for (const f of escalated) l2.send({ type: "answer", req_id: f.req_id, value: "lead says ok" });
  for (const runId of [runA, runB]) {
    await readEvents(second, runId);
    const run = await call(second, "GET", `/v1/runs/${runId}`);
    assert.deepEqual(run.body!.final_ctx, { a: "lead says ok" }, JSON.stringify(run.body));
  }
  // B never asked the reviewer again
  assert.deepEqual(r2.buffered().filter((f) => f.type === "ask"), []);
  await r2.close();
  await l2.close();
  await r1.closed;
  await l1.closed;
});
