/**
 * The run event stream as browsers expect it: an ended run with nothing left to
 * replay answers 204 (which stops `EventSource`), and with an API token set a
 * short-lived ticket lets an `EventSource` in without the token in the URL.
 */
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../_helpers.ts";
import { nextOf, operatorAgentBlueprint, runEnded, seat, startRun } from "../engine/_loop.ts";

const API_TOKEN = "api-token-for-sse-tests-0123456789";

async function endedRun(server: TestServer, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.base}/v1/runs`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ blueprint: { kind: "id", id: "main" }, init_ctx: { n: 1 } }),
  });
  assert.equal(res.status, 202);
  const { run_id } = await res.json();
  await runEnded(server, run_id).catch(() => {}); // with a token, the view read is refused
  await server.deps.engine.settled(run_id);
  return run_id as string;
}

/** The SSE event ids of a whole stream. */
async function eventIds(res: Response): Promise<number[]> {
  const text = await res.text();
  return [...text.matchAll(/^id: ?(\d+)$/gm)].map((m) => Number(m[1]));
}

Deno.test("GET /v1/runs/:id/events answers 204 for an ended run with nothing left to replay", async () => {
  await using server = await startServer();
  const runId = await endedRun(server);
  const url = `${server.base}/v1/runs/${runId}/events`;
  const full = await fetch(url);
  assert.equal(full.status, 200);
  const ids = await eventIds(full);
  assert.ok(ids.length >= 2, `replayed ${ids}`);
  const last = ids.at(-1)!;

  const rest = await fetch(url, { headers: { "last-event-id": String(last - 1) } });
  assert.equal(rest.status, 200);
  assert.deepEqual(await eventIds(rest), [last]);

  const none = await fetch(url, { headers: { "last-event-id": String(last) } });
  assert.equal(none.status, 204);
  assert.equal(await none.text(), "");
});

Deno.test("a browser-style EventSource stops after an ended run's stream instead of reconnecting", async () => {
  await using server = await startServer();
  const runId = await endedRun(server);
  let requests = 0;
  const counting = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    requests++;
    const url = new URL(req.url);
    return fetch(`${server.base}${url.pathname}`, { headers: req.headers });
  });
  try {
    const source = new EventSource(
      `http://127.0.0.1:${counting.addr.port}/v1/runs/${runId}/events`,
    );
    const types: string[] = [];
    const closed = Promise.withResolvers<void>();
    source.addEventListener("run_ended", () => types.push("run_ended"));
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) closed.resolve();
    };
    const timer = setTimeout(
      () => closed.reject(new Error("EventSource kept reconnecting")),
      15_000,
    );
    try {
      await closed.promise;
    } finally {
      clearTimeout(timer);
      source.close();
    }
    assert.deepEqual(types, ["run_ended"]);
    assert.equal(requests, 2, "one stream, then one reconnect answered 204");
  } finally {
    await counting.shutdown();
  }
});

Deno.test("POST /v1/runs/:id/events/ticket lets an EventSource in for that run only, for 60 s", async () => {
  const clock = { now: Date.now() };
  await using server = await startServer({ config: { apiToken: API_TOKEN }, now: () => clock.now });
  const admin = { authorization: `Bearer ${API_TOKEN}` };
  const runId = await endedRun(server, admin);
  const other = await endedRun(server, admin);

  const refused = await fetch(`${server.base}/v1/runs/${runId}/events/ticket`, { method: "POST" });
  assert.equal(refused.status, 401);
  await refused.body?.cancel();
  const minted = await fetch(`${server.base}/v1/runs/${runId}/events/ticket`, {
    method: "POST",
    headers: admin,
  });
  assert.equal(minted.status, 200);
  const { ticket, expires_at } = await minted.json();
  assert.equal(Date.parse(expires_at), clock.now + 60_000);
  assert.ok(!ticket.includes(API_TOKEN));

  const events = (id: string, query: string) =>
    fetch(`${server.base}/v1/runs/${id}/events${query}`);
  const noTicket = await events(runId, "");
  assert.equal(noTicket.status, 401);
  await noTicket.body?.cancel();

  const source = new EventSource(`${server.base}/v1/runs/${runId}/events?ticket=${ticket}`);
  const ended = Promise.withResolvers<string>();
  source.addEventListener("run_ended", (e) => ended.resolve((e as MessageEvent).data));
  source.onerror = () => ended.reject(new Error("EventSource failed"));
  const timer = setTimeout(() => ended.reject(new Error("no run_ended")), 10_000);
  try {
    assert.equal(JSON.parse(await ended.promise).type, "run_ended");
  } finally {
    clearTimeout(timer);
    source.close();
  }

  const wrongRun = await events(other, `?ticket=${ticket}`);
  assert.equal(wrongRun.status, 401);
  assert.equal((await wrongRun.json()).code, "ticket_invalid");
  const tampered = await events(
    runId,
    `?ticket=${ticket.replace(/.$/, (c: string) => c === "0" ? "1" : "0")}`,
  );
  assert.equal(tampered.status, 401);
  await tampered.body?.cancel();
  const elsewhere = await fetch(`${server.base}/v1/runs/${runId}?ticket=${ticket}`);
  assert.equal(elsewhere.status, 401, "a ticket opens the event stream only");
  await elsewhere.body?.cancel();

  clock.now += 60_001;
  const late = await events(runId, `?ticket=${ticket}`);
  assert.equal(late.status, 401);
  assert.equal((await late.json()).code, "ticket_expired");
});

Deno.test("POST /v1/runs/:id/events/ticket answers 404 for an unknown run", async () => {
  await using server = await startServer();
  const res = await fetch(`${server.base}/v1/runs/run-nope/events/ticket`, { method: "POST" });
  assert.equal(res.status, 404);
  assert.equal((await res.json()).code, "run_not_found");
});

Deno.test("run events carry the question and prompt, the answers, step outputs and durations, and final_ctx", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  await using _socket = op.ws;
  const runId = await startRun(server, {
    blueprint: {
      kind: "inline",
      value: operatorAgentBlueprint({ spawner_hints: { layers: ["senior_escalation"] } }),
    },
    init_ctx: { n: 1 },
    operator: { senior_bridge_id: op.sid },
  });
  const spawn = await nextOf(op.ws, "spawn");
  const worker = { authorization: `Bearer ${spawn.worker_handle}` };
  const submitted = await fetch(`${server.base}/v1/worker/submit?ok=false`, {
    method: "POST",
    headers: { ...worker, "content-type": "text/plain" },
    body: "stuck",
  });
  assert.equal(submitted.status, 204);
  await submitted.body?.cancel();
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  const ask = await nextOf(op.ws, "ask");
  op.ws.send({ type: "answer", req_id: ask.req_id, value: { hint: "try v2" } });
  assert.equal((await runEnded(server, runId)).status, "succeeded");

  const res = await fetch(`${server.base}/v1/runs/${runId}/events`);
  const text = await res.text();
  for (const secret of [spawn.capability_token, spawn.worker_handle!]) {
    assert.ok(!text.includes(secret), "no token or handle in the events");
  }
  const events = [...text.matchAll(/^data: ?(.*)$/gm)].map((m) => JSON.parse(m[1]));
  const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.data);
  const sent = of("operator_request_sent");
  const spawned = sent.find((d) => d.kind === "spawn");
  assert.equal(spawned.agent, "impl");
  assert.deepEqual(spawned.prompt, spawn.context?.input);
  assert.deepEqual(sent.find((d) => d.kind === "ask").question, ask.question);
  const settled = of("operator_request_settled");
  assert.deepEqual(settled.find((d) => d.kind === "ask").answer, { hint: "try v2" });
  assert.deepEqual(settled.find((d) => d.kind === "spawn").answer, { ok: true, value: null });
  const finished = of("step_finished");
  assert.ok(finished.length >= 1);
  for (const step of finished) assert.ok(step.duration_ms >= 0, JSON.stringify(step));
  const passed = finished.find((d) => d.verdict === "pass");
  assert.ok(passed && "output" in passed, JSON.stringify(finished));
  const [ended] = of("run_ended");
  assert.equal(ended.status, "succeeded");
  const run = await (await fetch(`${server.base}/v1/runs/${runId}`)).json();
  assert.deepEqual(ended.final_ctx, run.final_ctx);
  assert.deepEqual((ended.final_ctx as { r: unknown }).r, passed.output);
});
