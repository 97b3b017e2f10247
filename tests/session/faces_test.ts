import assert from "node:assert/strict";
import { RunEnded } from "../../engine/faces.ts";
import { ctxView as ctx, openSocket, startServer, type TestServer, until } from "../_helpers.ts";

const grant = { capabilityToken: "tok.en", workerHandle: "wh-0123abcd" };

async function seated(server: TestServer, roles: string[] = []) {
  const seat = await server.mint(roles);
  const ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  const session = server.deps.sessions.get(seat.sid)!;
  await until(() => session.connected);
  return { seat, ws, session };
}

Deno.test("ask from the registry round-trips through a real socket", async () => {
  await using server = await startServer();
  const { seat, ws } = await seated(server);
  const bridge = server.deps.seniorBridges.get(seat.sid)!;
  const answer = bridge.ask("T-1", { reason: "worker reported ok=false", value: "NO" });
  const frame = await ws.next();
  assert.equal(frame.type, "ask");
  if (frame.type !== "ask") return;
  assert.match(frame.req_id, new RegExp(`^${seat.sid}-ask-[0-9a-f-]{36}$`));
  assert.equal(frame.task_id, "T-1");
  assert.deepEqual(frame.question, { reason: "worker reported ok=false", value: "NO" });
  assert.equal("parent_req_id" in frame, false);
  ws.send({ type: "answer", req_id: frame.req_id, value: { go: true } });
  assert.deepEqual(await answer, { go: true });
  await ws.close();
});

Deno.test("hook_before is approved with ok:true and vetoed with a reason", async () => {
  await using server = await startServer();
  const { seat, ws } = await seated(server);
  const hook = server.deps.spawnHooks.get(seat.sid)!;

  const approved = hook.before(ctx());
  const first = await ws.next();
  assert.equal(first.type, "hook_before");
  if (first.type !== "hook_before") return;
  assert.deepEqual(
    { task_id: first.task_id, agent: first.agent, attempt: first.attempt },
    { task_id: "T-0000000000000001", agent: "impl", attempt: 1 },
  );
  assert.match(first.req_id, /-hb-/);
  ws.send({ type: "hook_ack", req_id: first.req_id, ok: true });
  await approved;

  const vetoed = assert.rejects(hook.before(ctx("T-2")), /not today/);
  const second = await ws.next();
  ws.send({
    type: "hook_ack",
    req_id: second.type === "hook_before" ? second.req_id : "",
    ok: false,
    reason: "not today",
  });
  await vetoed;

  const bare = assert.rejects(hook.before(ctx("T-3")), /ws operator: spawn rejected/);
  const third = await ws.next();
  ws.send({
    type: "hook_ack",
    req_id: third.type === "hook_before" ? third.req_id : "",
    ok: false,
  });
  await bare;
  await ws.close();
});

Deno.test("hook_after needs no reply, and a reply to it is refused", async () => {
  await using server = await startServer();
  const { seat, ws } = await seated(server);
  await server.deps.spawnHooks.get(seat.sid)!.after(ctx(), { r: 1 });
  const frame = await ws.next();
  assert.equal(frame.type, "hook_after");
  if (frame.type !== "hook_after") return;
  assert.deepEqual(frame.result, { r: 1 });
  assert.match(frame.req_id, /-ha-/);
  ws.send({ type: "answer", req_id: frame.req_id, value: 1 });
  const err = await ws.next();
  assert.equal(err.type, "error");
  await ws.close();
});

Deno.test("spawn resolves with the ack's value and ok, and an ack error rejects", async () => {
  await using server = await startServer();
  const { seat, ws } = await seated(server);
  const operator = server.deps.operators.get(seat.sid)!;
  const signal = new AbortController().signal;

  const done = operator.execute(ctx(), null, "do X", grant, signal);
  const frame = await ws.next();
  assert.equal(frame.type, "spawn");
  if (frame.type !== "spawn") return;
  assert.equal(frame.capability_token, "tok.en");
  assert.equal(frame.worker_handle, "wh-0123abcd");
  assert.match(frame.directive, /^\[agent_primitive dispatch=@impl\]\nworker endpoint:\n/);
  assert.ok(
    frame.directive.includes(`${server.base}/v1/worker/prompt?task_id=T-0000000000000001`),
    "the directive names the server's real public URL",
  );
  assert.match(frame.directive, /\nauth: Bearer /);
  assert.match(frame.directive, /\ntask_id: T-0000000000000001\nagent_id: impl/);
  ws.send({ type: "spawn_ack", req_id: frame.req_id });
  assert.deepEqual(await done, { value: null, ok: true });

  const blocked = operator.execute(ctx("T-2"), null, "", grant, signal);
  const f2 = await ws.next();
  ws.send({
    type: "spawn_ack",
    req_id: f2.type === "spawn" ? f2.req_id : "",
    value: { x: 1 },
    ok: false,
  });
  assert.deepEqual(await blocked, { value: { x: 1 }, ok: false });

  const failed = assert.rejects(operator.execute(ctx("T-3"), null, "", grant, signal), /boom/);
  const f3 = await ws.next();
  ws.send({
    type: "spawn_ack",
    req_id: f3.type === "spawn" ? f3.req_id : "",
    ok: true,
    error: "boom",
  });
  await failed;
  await ws.close();
});

Deno.test("a request made while disconnected waits and is delivered on connect", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const bridge = server.deps.seniorBridges.get(seat.sid)!;
  const answer = bridge.ask("T-1", "are you there?");
  const ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  const frame = await ws.next();
  assert.equal(frame.type, "ask");
  ws.send({ type: "answer", req_id: frame.type === "ask" ? frame.req_id : "", value: "yes" });
  assert.equal(await answer, "yes");
  await ws.close();
});

Deno.test("a reconnect mid-request replays the frame and accepts the answer after it", async () => {
  await using server = await startServer();
  const { seat, ws, session } = await seated(server);
  const bridge = server.deps.seniorBridges.get(seat.sid)!;
  const hook = server.deps.spawnHooks.get(seat.sid)!;
  const answer = bridge.ask("T-1", "q1");
  const gate = hook.before(ctx("T-2"));
  const a1 = await ws.next();
  const a2 = await ws.next();
  await ws.close();
  await until(() => !session.connected);

  const pending = await (await fetch(`${server.base}/v1/operators/${seat.sid}/pending`, {
    headers: { authorization: `Bearer ${seat.token}` },
  })).json();
  assert.deepEqual(pending.pending, [a1, a2]);

  const again = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  assert.deepEqual(await again.next(), a1, "replayed unchanged, in the order first sent");
  assert.deepEqual(await again.next(), a2);
  again.send({ type: "answer", req_id: a1.type === "ask" ? a1.req_id : "", value: 42 });
  again.send({ type: "hook_ack", req_id: a2.type === "hook_before" ? a2.req_id : "", ok: true });
  assert.equal(await answer, 42);
  await gate;
  assert.equal(session.pendingCount, 0);
  await again.close();
});

Deno.test("a second socket replaces the first (4000) and the old close leaves the new attached", async () => {
  await using server = await startServer();
  const { seat, ws: first, session } = await seated(server);
  const second = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  const closed = await first.closed;
  assert.equal(closed.code, 4000);
  assert.equal(closed.reason, "replaced");
  assert.equal(session.connected, true, "the old socket's close does not detach the new one");
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "still here?");
  const frame = await second.next();
  second.send({ type: "answer", req_id: frame.type === "ask" ? frame.req_id : "", value: "yes" });
  assert.equal(await answer, "yes");
  await second.close();
});

Deno.test("DELETE with requests pending fails them at once, cancels them and closes 4001", async () => {
  await using server = await startServer();
  const { seat, ws } = await seated(server, ["boss"]);
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q");
  const spawn = server.deps.operators.get("boss")!.execute(
    ctx(),
    null,
    "",
    grant,
    new AbortController().signal,
  );
  const answerFails = assert.rejects(answer, /operator session deleted/);
  const spawnFails = assert.rejects(spawn, /operator session deleted/);
  const ask = await ws.next();
  const sp = await ws.next();
  const res = await fetch(`${server.base}/v1/operators/${seat.sid}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(res.status, 204);
  await answerFails;
  await spawnFails;
  const cancels = [await ws.next(), await ws.next()];
  assert.deepEqual(cancels, [
    { type: "cancel", req_id: ask.type === "ask" ? ask.req_id : "", reason: "session_deleted" },
    { type: "cancel", req_id: sp.type === "spawn" ? sp.req_id : "", reason: "session_deleted" },
  ]);
  const closed = await ws.closed;
  assert.deepEqual(closed, { code: 4001, reason: "session deleted" });
  assert.equal(server.deps.operators.has("boss"), false);
});

Deno.test("a deadline passing rejects the request and sends cancel{timeout}", async () => {
  await using server = await startServer();
  const { seat, ws, session } = await seated(server);
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q", {
    signal: AbortSignal.timeout(30),
  });
  const timedOut = assert.rejects(answer, /operator request timed out/);
  const ask = await ws.next();
  await timedOut;
  const cancel = await ws.next();
  assert.deepEqual(cancel, {
    type: "cancel",
    req_id: ask.type === "ask" ? ask.req_id : "",
    reason: "timeout",
  });
  assert.equal(session.pendingCount, 0);
  ws.send({ type: "answer", req_id: cancel.req_id, value: "late" });
  assert.equal((await ws.next()).type, "error", "a cancelled request cannot be answered");
  await ws.close();
});

Deno.test("a run ending cancels its requests with run_ended", async () => {
  await using server = await startServer();
  const { seat, ws } = await seated(server);
  const run = new AbortController();
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q", { signal: run.signal });
  const ended = assert.rejects(answer, RunEnded);
  const ask = await ws.next();
  run.abort(new RunEnded("run_ended"));
  await ended;
  assert.deepEqual(await ws.next(), {
    type: "cancel",
    req_id: ask.type === "ask" ? ask.req_id : "",
    reason: "run_ended",
  });
  await ws.close();
});

Deno.test("a duplicate answer gets an error frame and is never applied twice", async () => {
  await using server = await startServer();
  const { seat, ws } = await seated(server);
  const bridge = server.deps.seniorBridges.get(seat.sid)!;
  const answer = bridge.ask("T-1", "q");
  const ask = await ws.next();
  const reqId = ask.type === "ask" ? ask.req_id : "";
  ws.send({ type: "answer", req_id: reqId, value: "first" });
  ws.send({ type: "answer", req_id: reqId, value: "second" });
  assert.equal(await answer, "first");
  const err = await ws.next();
  assert.equal(err.type, "error");
  if (err.type !== "error") return;
  assert.equal(err.req_id, reqId);
  assert.match(err.error, /unknown or already settled/);
  await ws.close();
});

Deno.test("an answer of the wrong kind gets an error frame and leaves the request pending", async () => {
  await using server = await startServer();
  const { seat, ws, session } = await seated(server);
  const spawn = server.deps.operators.get(seat.sid)!.execute(
    ctx(),
    null,
    "",
    grant,
    new AbortController().signal,
  );
  const frame = await ws.next();
  const reqId = frame.type === "spawn" ? frame.req_id : "";
  ws.send({ type: "answer", req_id: reqId, value: 1 });
  const err = await ws.next();
  assert.equal(err.type, "error");
  if (err.type !== "error") return;
  assert.match(err.error, /unexpected answer reply to spawn/);
  assert.equal(session.pendingCount, 1);
  ws.send({ type: "hook_ack", req_id: reqId, ok: true });
  assert.equal((await ws.next()).type, "error");
  ws.send({ type: "spawn_ack", req_id: reqId, value: "done" });
  assert.deepEqual(await spawn, { value: "done", ok: true });
  await ws.close();
});

Deno.test("ping is answered with pong", async () => {
  await using server = await startServer();
  const { ws } = await seated(server);
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" });
  await ws.close();
});

Deno.test("idle seats without a live socket are swept like a DELETE", async () => {
  let clock = 1_000_000;
  await using server = await startServer({ now: () => clock });
  const { seat: live, ws } = await seated(server);
  const idle = await server.mint(["idle-role"]);
  const { sweepIdleSeats } = await import("../../session/seats.ts");
  clock += 60_000;
  assert.deepEqual(await sweepIdleSeats(server.deps, 120_000), []);
  clock += 60_000;
  assert.deepEqual(await sweepIdleSeats(server.deps, 120_000), [idle.sid]);
  assert.equal(server.deps.sessions.has(live.sid), true, "a connected seat is never idle");
  assert.equal(server.deps.roles.has("idle-role"), false);
  await ws.close();
});
