/**
 * Conformance probes for SPEC §4 (the operator WebSocket) and the worker side of
 * a spawn (reference/http.md §5, §9), driven as an outside client would: real
 * HTTP, real sockets, exact shapes, statuses, texts and close codes.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  openSocket,
  rawHttp,
  startServer,
  type TestServer,
  until,
  upgradeRequest,
} from "../_helpers.ts";
import { get, nextOf, post, runEnded, seat, startRun } from "../engine/_loop.ts";

const UUID4 = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
const bearer = (b: string) => ({ authorization: `Bearer ${b}` });

/** The reference's §9.13 Blueprint: one operator agent behind role `main-ai`. */
function e2eBlueprint(extra: Record<string, unknown> = {}) {
  return {
    id: "e2e",
    operators: [{ name: "main-ai" }],
    agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } }],
    flow: {
      kind: "step",
      ref: "impl",
      in: { op: "lit", value: "do X" },
      out: { op: "path", at: "$.r" },
    },
    ...extra,
  };
}

/** A seat of role `main-ai`, an async run of {@link e2eBlueprint}, and its `spawn` frame. */
async function pendingSpawn(server: TestServer) {
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: { kind: "inline", value: e2eBlueprint() },
    init_ctx: {},
  });
  return { op, runId, spawn: await nextOf(op.ws, "spawn") };
}

async function submit(server: TestServer, credential: string, body: string, query = "") {
  const res = await fetch(`${server.base}/v1/worker/submit${query}`, {
    method: "POST",
    headers: bearer(credential),
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

Deno.test("reference §9.13 end to end over POST /v1/tasks: spawn frame, prompt by handle, submit, ack", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const task = post(server, "/v1/tasks", {
    blueprint: { kind: "inline", value: e2eBlueprint() },
    init_ctx: {},
  });
  const spawn = await nextOf(op.ws, "spawn");
  assert.match(spawn.req_id, new RegExp(`^${op.sid}-spawn-${UUID4}$`));
  assert.match(spawn.task_id, /^T-[0-9a-f]{16}$/);
  assert.equal(spawn.agent, "impl");
  assert.equal(spawn.attempt, 1);
  assert.equal(typeof spawn.capability_token, "string");
  assert.equal(typeof spawn.directive, "string");
  assert.equal("parent_req_id" in spawn, false);

  const prompt = await get(
    server,
    `/v1/worker/prompt?task_id=${spawn.task_id}`,
    bearer(spawn.worker_handle!),
  );
  assert.equal(prompt.status, 200);
  assert.deepEqual(prompt.body, {
    task_id: spawn.task_id,
    attempt: 1,
    agent: "impl",
    prompt: "do X",
  });
  const sub = await submit(server, spawn.worker_handle!, "DONE\n");
  assert.equal(sub.status, 204);
  assert.equal(sub.body, null);
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: {}, ok: true });
  const res = await task;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body!.final_ctx, { r: "DONE" });
  assert.equal(res.body!.ttl_source, "server_default");
  assert.equal(res.body!.effective_ttl_secs, 1800);
  await op.ws.close();
});

Deno.test("reference §9.13 variant: a bare spawn_ack value becomes the step output; a minimal ack is null", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const body = { blueprint: { kind: "inline", value: e2eBlueprint() }, init_ctx: {} };
  const first = post(server, "/v1/tasks", body);
  const spawn = await nextOf(op.ws, "spawn");
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: { x: 1 } });
  assert.deepEqual((await first).body!.final_ctx, { r: { x: 1 } });

  const second = post(server, "/v1/tasks", body);
  const spawn2 = await nextOf(op.ws, "spawn");
  op.ws.send({ type: "spawn_ack", req_id: spawn2.req_id, extra: "ignored" });
  const res = await second;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body!.final_ctx, { r: null });
  await op.ws.close();
});

Deno.test("spawn_ack after a submit: the worker's final wins, the ack's value and ok are ignored", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await pendingSpawn(server);
  assert.equal(
    (await submit(server, spawn.capability_token, "  line one\n  line two \t\n\n")).status,
    204,
  );
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "from the ack", ok: false });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(
    run.final_ctx,
    { r: "  line one\n  line two" },
    "trailing whitespace only is removed",
  );
  await op.ws.close();
});

Deno.test("submit keeps a JSON-looking body a string; ?ok=false blocks the step with `blocked: <json>`", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const body = { blueprint: { kind: "inline", value: e2eBlueprint() }, init_ctx: {} };
  const a = await startRun(server, body);
  const s1 = await nextOf(op.ws, "spawn");
  assert.equal((await submit(server, s1.worker_handle!, '{"a":1}')).status, 204);
  op.ws.send({ type: "spawn_ack", req_id: s1.req_id, value: {}, ok: true });
  assert.deepEqual((await runEnded(server, a)).final_ctx, { r: '{"a":1}' });

  const b = await startRun(server, body);
  const s2 = await nextOf(op.ws, "spawn");
  assert.equal((await submit(server, s2.worker_handle!, "nope", "?ok=false")).status, 204);
  op.ws.send({ type: "spawn_ack", req_id: s2.req_id, value: {}, ok: true });
  const run = await runEnded(server, b);
  assert.equal(run.status, "failed");
  assert.match(run.error!, /blocked: "nope"/);
  await op.ws.close();
});

Deno.test("spawn_ack ok:false blocks with its value; an ack error fails with `worker fn returned error:`", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const body = { blueprint: { kind: "inline", value: e2eBlueprint() }, init_ctx: {} };
  const blocked = post(server, "/v1/tasks", body);
  const s1 = await nextOf(op.ws, "spawn");
  op.ws.send({ type: "spawn_ack", req_id: s1.req_id, value: { why: "no" }, ok: false });
  const r1 = await blocked;
  assert.equal(r1.status, 400);
  assert.match(String(r1.body!.error), /blocked: \{"why":"no"\}$/);

  const failed = post(server, "/v1/tasks", body);
  const s2 = await nextOf(op.ws, "spawn");
  op.ws.send({ type: "spawn_ack", req_id: s2.req_id, value: 1, ok: true, error: "boom" });
  const r2 = await failed;
  assert.equal(r2.status, 400);
  assert.match(String(r2.body!.error), /worker fn returned error: boom$/);

  const nullError = post(server, "/v1/tasks", body);
  const s3 = await nextOf(op.ws, "spawn");
  op.ws.send({ type: "spawn_ack", req_id: s3.req_id, value: 2, error: null });
  assert.deepEqual((await nullError).body!.final_ctx, { r: 2 }, "error: null is no error");

  const afterSubmit = post(server, "/v1/tasks", body);
  const s4 = await nextOf(op.ws, "spawn");
  assert.equal((await submit(server, s4.worker_handle!, "posted")).status, 204);
  op.ws.send({ type: "spawn_ack", req_id: s4.req_id, error: "nope" });
  const r4 = await afterSubmit;
  assert.equal(r4.status, 400, "an ack error fails the attempt even after a posted final");
  assert.match(String(r4.body!.error), /worker fn returned error: nope$/);
  await op.ws.close();
});

Deno.test("hook frames from a real run: shapes, req_id kinds, default veto reason", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const body = {
    blueprint: { kind: "inline", value: e2eBlueprint({ spawner_hints: { layers: ["main_ai"] } }) },
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: op.sid },
  };
  const vetoed = post(server, "/v1/tasks", body);
  const hb = await nextOf(op.ws, "hook_before");
  assert.match(hb.req_id, new RegExp(`^${op.sid}-hb-${UUID4}$`));
  const { context: _c, ...plain } = hb;
  assert.deepEqual(plain, {
    type: "hook_before",
    req_id: hb.req_id,
    task_id: hb.task_id,
    agent: "impl",
    attempt: 1,
  });
  op.ws.send({ type: "hook_ack", req_id: hb.req_id, ok: false, reason: null });
  const r = await vetoed;
  assert.equal(r.status, 400);
  assert.match(
    String(r.body!.error),
    /dispatch failed: spawn rejected by middleware: ws operator: spawn rejected$/,
  );

  const approved = post(server, "/v1/tasks", body);
  const hb2 = await nextOf(op.ws, "hook_before");
  op.ws.send({ type: "hook_ack", req_id: hb2.req_id, ok: true });
  const spawn = await nextOf(op.ws, "spawn");
  assert.equal(spawn.task_id, hb2.task_id);
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: { built: 1 } });
  const ha = await nextOf(op.ws, "hook_after");
  assert.match(ha.req_id, new RegExp(`^${op.sid}-ha-${UUID4}$`));
  const { context: _d, ...after } = ha;
  assert.deepEqual(after, {
    type: "hook_after",
    req_id: ha.req_id,
    task_id: hb2.task_id,
    agent: "impl",
    attempt: 1,
    result: { built: 1 },
  });
  assert.deepEqual((await approved).body!.final_ctx, { r: { built: 1 } });
  await op.ws.close();
});

Deno.test("an ask from a real run carries {reason, value}; answer null passes with {original, senior_answer}", async () => {
  await using server = await startServer({
    functions: [["stuck", () => Promise.resolve({ value: "cannot", ok: false })]],
  });
  const op = await seat(server);
  const res = post(server, "/v1/tasks", {
    blueprint: {
      kind: "inline",
      value: {
        id: "asks",
        spawner_hints: { layers: ["senior_escalation"] },
        agents: [{ name: "impl", kind: "rust_fn", spec: { fn_id: "stuck" } }],
        flow: { kind: "step", ref: "impl", in: "'x'", out: "$.r" },
      },
    },
    init_ctx: {},
    operator: { senior_bridge_id: op.sid },
  });
  const ask = await nextOf(op.ws, "ask");
  assert.match(ask.req_id, new RegExp(`^${op.sid}-ask-${UUID4}$`));
  const { context: _c, ...plain } = ask;
  assert.deepEqual(plain, {
    type: "ask",
    req_id: ask.req_id,
    task_id: ask.task_id,
    question: { reason: "worker reported ok=false", value: "cannot" },
  });
  op.ws.send({ type: "answer", req_id: ask.req_id, value: null });
  const done = await res;
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.deepEqual(done.body!.final_ctx, { r: { original: "cannot", senior_answer: null } });
  await op.ws.close();
});

Deno.test("a reconnect replays pending requests but never a hook_after", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const hooked = {
    blueprint: {
      kind: "inline",
      value: e2eBlueprint({
        flow: {
          kind: "seq",
          children: [
            { kind: "step", ref: "impl", in: "'a'", out: "$.a" },
            { kind: "step", ref: "impl", in: "'b'", out: "$.b" },
          ],
        },
        spawner_hints: { layers: ["main_ai"] },
      }),
    },
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: op.sid },
  };
  const runId = await startRun(server, hooked);
  const hb1 = await nextOf(op.ws, "hook_before");
  op.ws.send({ type: "hook_ack", req_id: hb1.req_id, ok: true });
  const s1 = await nextOf(op.ws, "spawn");
  op.ws.send({ type: "spawn_ack", req_id: s1.req_id, value: 1 });
  await nextOf(op.ws, "hook_after");
  const hb2 = await nextOf(op.ws, "hook_before");
  await op.ws.close();
  await until(() => server.deps.sessions.get(op.sid)?.connected === false);

  await using again = await openSocket(`${server.wsBase}/v1/operators/${op.sid}/ws`, {
    token: op.token,
  });
  assert.deepEqual(await again.next(), hb2, "only the pending hook_before comes back");
  again.send({ type: "ping" });
  assert.deepEqual(await again.next(), { type: "pong" }, "nothing else was replayed");
  again.send({ type: "hook_ack", req_id: hb2.req_id, ok: true });
  const s2 = await nextOf(again, "spawn");
  again.send({ type: "spawn_ack", req_id: s2.req_id, value: 2 });
  const run = await runEnded(server, runId);
  assert.deepEqual(run.final_ctx, { a: 1, b: 2 });
});

Deno.test("a reply sent at once on the new socket, before reading the replay, is accepted", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await pendingSpawn(server);
  await op.ws.close();
  await using again = await openSocket(`${server.wsBase}/v1/operators/${op.sid}/ws`, {
    token: op.token,
  });
  again.send({ type: "spawn_ack", req_id: spawn.req_id, value: "held" });
  const run = await runEnded(server, runId);
  assert.deepEqual(run.final_ctx, { r: "held" });
});

Deno.test("a run cancelled over HTTP sends cancel{run_ended} and its worker credentials answer 410", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await pendingSpawn(server);
  const del = await fetch(`${server.base}/v1/runs/${runId}`, { method: "DELETE" });
  await del.body?.cancel();
  assert.deepEqual(await nextOf(op.ws, "cancel"), {
    type: "cancel",
    req_id: spawn.req_id,
    reason: "run_ended",
  });
  for (const credential of [spawn.capability_token, spawn.worker_handle!]) {
    const p = await get(server, `/v1/worker/prompt?task_id=${spawn.task_id}`, bearer(credential));
    assert.equal(p.status, 410, JSON.stringify(p.body));
    const s = await submit(server, credential, "late");
    assert.equal(s.status, 410, JSON.stringify(s.body));
  }
  const r = await post(
    server,
    "/v1/worker/result",
    { task_id: spawn.task_id, value: 1 },
    bearer(spawn.capability_token),
  );
  assert.equal(r.status, 410);
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: 1 });
  const refused = await nextOf(op.ws, "error");
  assert.equal(refused.req_id, spawn.req_id);
  await op.ws.close();
});

Deno.test("worker routes: query, bearer and token errors have the 0.1.2 statuses and texts", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await pendingSpawn(server);
  const t = spawn.task_id;

  const noQuery = await get(server, "/v1/worker/prompt", {});
  assert.equal(noQuery.status, 400, "task_id missing: 400 before any auth");
  const basic = await get(server, `/v1/worker/prompt?task_id=${t}`, { authorization: "Basic x" });
  assert.equal(basic.status, 400);
  assert.equal(basic.body!.error, "Authorization must be 'Bearer <token>'");
  const garbage = await get(server, `/v1/worker/prompt?task_id=${t}`, bearer("not-a-token!"));
  assert.equal(garbage.status, 400);
  assert.match(String(garbage.body!.error), /^invalid token: /);
  const handleOnResult = await post(
    server,
    "/v1/worker/result",
    { task_id: t, value: 1 },
    bearer(spawn.worker_handle!),
  );
  assert.equal(handleOnResult.status, 400, "result takes the encoded token only");
  assert.match(String(handleOnResult.body!.error), /^invalid token: /);
  const resultBasic = await post(server, "/v1/worker/result", { task_id: t, value: 1 }, {
    authorization: "Basic x",
  });
  assert.equal(resultBasic.status, 400);
  assert.equal(resultBasic.body!.error, "Authorization must be 'Bearer <token>'");
  const badOk = await submit(server, spawn.worker_handle!, "x", "?ok=maybe");
  assert.equal(badOk.status, 400);
  const noValue = await post(
    server,
    "/v1/worker/result",
    { task_id: t },
    bearer(spawn.capability_token),
  );
  assert.equal(noValue.status, 422, "value is required");
  const notJson = await fetch(`${server.base}/v1/worker/result`, {
    method: "POST",
    headers: { ...bearer(spawn.capability_token), "content-type": "text/plain" },
    body: "{}",
  });
  assert.equal(notJson.status, 415);
  assert.equal(typeof (await notJson.json()).error, "string");

  assert.equal((await submit(server, spawn.worker_handle!, "first")).status, 204);
  const again = await submit(server, spawn.capability_token, "second");
  assert.equal(again.status, 409, "a second final for the attempt");
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: {} });
  assert.deepEqual((await runEnded(server, runId)).final_ctx, { r: "first" });
  const late = await submit(server, spawn.capability_token, "late");
  assert.equal(late.status, 410, "a post after the task ended");
  await op.ws.close();
});

Deno.test("the capability token decodes to the 0.1.2 CapToken: worker role, bound agent, 1800 s", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  await startRun(server, { blueprint: { kind: "inline", value: e2eBlueprint() }, init_ctx: {} });
  const spawn = await nextOf(op.ws, "spawn");
  const b64 = spawn.capability_token;
  assert.match(b64, /^[A-Za-z0-9_-]+$/, "base64url without padding");
  const json = new TextDecoder().decode(
    Uint8Array.from(atob(b64.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
  );
  const token = JSON.parse(json);
  assert.deepEqual(Object.keys(token), [
    "agent_id",
    "role",
    "scopes",
    "issued_at",
    "expire_at",
    "max_uses",
    "nonce",
    "sig_hex",
  ]);
  assert.equal(token.agent_id, `worker-of-${spawn.task_id}`);
  assert.equal(token.role, "worker");
  assert.deepEqual(token.scopes, ["*"]);
  assert.equal(token.expire_at - token.issued_at, 1800);
  assert.equal(token.max_uses, null);
  assert.match(token.nonce, /^[0-9a-f]{32}$/);
  assert.match(token.sig_hex, /^[0-9a-f]{64}$/);
  await op.ws.close();
});

Deno.test("operator socket handshake: header tokens compared ignoring case, Connection as a list; POST is 405", async () => {
  await using server = await startServer();
  const seatInfo = await server.mint();
  const ok = await rawHttp(
    server.port,
    upgradeRequest(`/v1/operators/${seatInfo.sid}/ws`, {
      Connection: "keep-alive, Upgrade",
      Upgrade: "WebSocket",
      Authorization: `Bearer ${seatInfo.token}`,
    }),
  ).catch(() => ({ status: 101, head: "", body: "" }));
  assert.equal(ok.status, 101);
  const res = await fetch(`${server.base}/v1/operators/${seatInfo.sid}/ws`, {
    method: "POST",
    headers: bearer(seatInfo.token),
  });
  assert.equal(res.status, 405);
  assert.match(res.headers.get("allow") ?? "", /GET/);
  await res.body?.cancel();
});

Deno.test("a reply naming another seat's request is refused there and leaves it pending", async () => {
  await using server = await startServer();
  const a = await seat(server, ["main-ai"]);
  const b = await seat(server);
  const runId = await startRun(server, {
    blueprint: { kind: "inline", value: e2eBlueprint() },
    init_ctx: {},
  });
  const spawn = await nextOf(a.ws, "spawn");
  b.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "stolen" });
  const err = await nextOf(b.ws, "error");
  assert.equal(err.req_id, spawn.req_id);
  assert.equal(server.deps.sessions.get(a.sid)!.pendingCount, 1);
  a.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "mine" });
  assert.deepEqual((await runEnded(server, runId)).final_ctx, { r: "mine" });
  await a.ws.close();
  await b.ws.close();
});

Deno.test("an error frame for non-JSON has no req_id; a ping with extra fields gets a bare pong", async () => {
  await using server = await startServer();
  const a = await seat(server);
  a.ws.sendRaw("not json");
  const e = await a.ws.next();
  assert.deepEqual(Object.keys(e).sort(), ["error", "type"]);
  a.ws.send({ type: "ping", id: 7 });
  assert.deepEqual(await a.ws.next(), { type: "pong" });
  a.ws.send({ type: "answer", req_id: "op-x-ask-1", value: 1 });
  const u = await a.ws.next();
  assert.deepEqual(u, {
    type: "error",
    error: "unknown or already settled req_id: op-x-ask-1",
    req_id: "op-x-ask-1",
  });
  await a.ws.close();
});

Deno.test("a pong after a reply confirms it: the request is gone from /pending", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  await startRun(server, { blueprint: { kind: "inline", value: e2eBlueprint() }, init_ctx: {} });
  const spawn = await nextOf(op.ws, "spawn");
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: 1 });
  op.ws.send({ type: "ping" });
  assert.deepEqual(await nextOf(op.ws, "pong"), { type: "pong" });
  const p = await get(server, `/v1/operators/${op.sid}/pending`, bearer(op.token));
  assert.deepEqual(p.body, { pending: [] });
  await op.ws.close();
});

Deno.test("DELETE of the seat fails a /v1/tasks run at once with `operator session deleted`, closes 4001, then 404", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const task = post(server, "/v1/tasks", {
    blueprint: { kind: "inline", value: e2eBlueprint() },
    init_ctx: {},
  });
  await nextOf(op.ws, "spawn");
  const del = await fetch(`${server.base}/v1/operators/${op.sid}`, {
    method: "DELETE",
    headers: bearer(op.token),
  });
  assert.equal(del.status, 204);
  const res = await task;
  assert.equal(res.status, 400);
  assert.match(String(res.body!.error), /operator session deleted/);
  assert.deepEqual(await op.ws.closed, { code: 4001, reason: "session deleted" });
  const again = await rawHttp(
    server.port,
    upgradeRequest(`/v1/operators/${op.sid}/ws`, { Authorization: `Bearer ${op.token}` }),
  );
  assert.equal(again.status, 404);
});

Deno.test("a request whose run deadline passed while disconnected is not replayed", async () => {
  await using server = await startServer();
  const minted = await server.mint(["main-ai"]);
  const task = await post(server, "/v1/tasks", {
    blueprint: { kind: "inline", value: e2eBlueprint() },
    init_ctx: {},
    ttl_secs: 1,
  });
  assert.equal(task.status, 400);
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${minted.sid}/ws`, {
    token: minted.token,
  });
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" });
});

Deno.test("an unknown worker handle answers 401 with the 0.1.2 text", async () => {
  await using server = await startServer();
  const handle = "wh-0123456789abcdef0123456789abcdef";
  const prompt = await get(server, "/v1/worker/prompt?task_id=T-0000000000000001", bearer(handle));
  assert.equal(prompt.status, 401);
  assert.equal(
    prompt.body!.error,
    `engine: task_id_from_handle: token not found in store (nonce=handle=${handle})`,
  );
  const sub = await submit(server, handle, "x");
  assert.equal(sub.status, 401);
  assert.equal(sub.body!.error, prompt.body!.error);
});

Deno.test("with an API token set, the seat token opens the socket and worker credentials work", async () => {
  await using server = await startServer({ config: { apiToken: "admin-secret" } });
  const minted = await post(
    server,
    "/v1/operators",
    { roles: ["main-ai"] },
    bearer("admin-secret"),
  );
  assert.equal(minted.status, 200);
  const sid = minted.body!.sid as string;
  const token = minted.body!.token as string;
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  const runs = await post(server, "/v1/runs", {
    blueprint: { kind: "inline", value: e2eBlueprint() },
    init_ctx: {},
  }, bearer("admin-secret"));
  assert.equal(runs.status, 202);
  const spawn = await nextOf(ws, "spawn");
  const p = await get(
    server,
    `/v1/worker/prompt?task_id=${spawn.task_id}`,
    bearer(spawn.worker_handle!),
  );
  assert.equal(p.status, 200);
  assert.equal((await submit(server, spawn.capability_token, "ok")).status, 204);
  const noAuth = await rawHttp(server.port, upgradeRequest(`/v1/operators/${sid}/ws`));
  assert.equal(noAuth.status, 401);
});

Deno.test("a second socket while one is live: the old one closes 4000, the new one gets the replay", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await pendingSpawn(server);
  await using second = await openSocket(`${server.wsBase}/v1/operators/${op.sid}/ws`, {
    token: op.token,
  });
  assert.deepEqual(await op.ws.closed, { code: 4000, reason: "replaced" });
  assert.deepEqual(await second.next(), spawn, "the same frame, the same req_id");
  second.send({ type: "spawn_ack", req_id: spawn.req_id, value: "second" });
  assert.deepEqual((await runEnded(server, runId)).final_ctx, { r: "second" });
});

Deno.test("fanout: three spawns outstanding at once, answered in reverse order, each by its req_id", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const task = post(server, "/v1/tasks", {
    blueprint: {
      kind: "inline",
      value: e2eBlueprint({
        flow: {
          kind: "fanout",
          items: "['a', 'b', 'c']",
          bind: "$.item",
          join: "all",
          out: "$.all",
          body: { kind: "step", ref: "impl", in: "$.item", out: "$.r" },
        },
      }),
    },
    init_ctx: {},
  });
  const spawns = [
    await nextOf(op.ws, "spawn"),
    await nextOf(op.ws, "spawn"),
    await nextOf(op.ws, "spawn"),
  ];
  assert.equal(new Set(spawns.map((s) => s.req_id)).size, 3);
  assert.equal(new Set(spawns.map((s) => s.task_id)).size, 3);
  for (const s of [...spawns].reverse()) {
    const prompt = await get(
      server,
      `/v1/worker/prompt?task_id=${s.task_id}`,
      bearer(s.worker_handle!),
    );
    op.ws.send({ type: "spawn_ack", req_id: s.req_id, value: `done ${prompt.body!.prompt}` });
  }
  const res = await task;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const all = (res.body!.final_ctx as { all: Array<{ r: string }> }).all;
  assert.deepEqual(all.map((b) => b.r), ["done a", "done b", "done c"]);
  await op.ws.close();
});
