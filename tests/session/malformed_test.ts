import assert from "node:assert/strict";
import { openSocket, startServer, until } from "../_helpers.ts";

/** 50 kinds of frames the server must refuse with an `error` frame, socket open. */
function malformedFrames(reqId: string, hbId: string): string[] {
  const s = JSON.stringify;
  return [
    "",
    " ",
    "not json",
    "{",
    "}",
    "[",
    "null",
    "true",
    "42",
    '"answer"',
    "[]",
    '[{"type":"answer"}]',
    "{}",
    s({ type: null }),
    s({ type: 7 }),
    s({ type: "" }),
    s({ type: "ANSWER", req_id: reqId, value: 1 }),
    s({ type: "ask", req_id: reqId, task_id: "T", question: 1 }),
    s({ type: "spawn", req_id: reqId }),
    s({ type: "cancel", req_id: reqId, reason: "timeout" }),
    s({ type: "pong" }),
    s({ type: "hello" }),
    s({ type: "answer" }),
    s({ type: "answer", req_id: reqId }),
    s({ type: "answer", value: 1 }),
    s({ type: "answer", req_id: "", value: 1 }),
    s({ type: "answer", req_id: 5, value: 1 }),
    s({ type: "answer", req_id: null, value: 1 }),
    s({ type: "answer", req_id: ["x"], value: 1 }),
    s({ type: "answer", req_id: "op-unknown-ask-0", value: 1 }),
    s({ type: "answer", req_id: reqId + "x", value: 1 }),
    s({ type: "hook_ack", req_id: hbId }),
    s({ type: "hook_ack", req_id: hbId, ok: "yes" }),
    s({ type: "hook_ack", req_id: hbId, ok: 1 }),
    s({ type: "hook_ack", req_id: hbId, ok: null }),
    s({ type: "hook_ack", req_id: hbId, ok: true, reason: 5 }),
    s({ type: "hook_ack", ok: true }),
    s({ type: "spawn_ack" }),
    s({ type: "spawn_ack", req_id: reqId, ok: "true" }),
    s({ type: "spawn_ack", req_id: reqId, error: 5 }),
    s({ type: "spawn_ack", req_id: 1 }),
    s({ type: "spawn_ack", req_id: reqId }),
    s({ type: "hook_ack", req_id: reqId, ok: true }),
    s({ type: "answer", req_id: hbId, value: 1 }),
    s({ type: "spawn_ack", req_id: hbId }),
    '{"type":"answer","req_id":"' + reqId + '","value":1',
    '{"type":"answer","req_id":"' + reqId + '","value":NaN}',
    '{"type":"answer","req_id":"' + reqId + "\",'value':1}",
    '\u0000{"type":"ping"}',
    '{"type":"answer","req_id":"' + reqId + '","value":1}{"x":1}',
  ];
}

Deno.test("50 kinds of malformed frames each get an error frame; the session keeps working", async () => {
  await using server = await startServer();
  const seat = await server.mint(["m"]);
  const other = await server.mint();
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  await using bystander = await openSocket(`${server.wsBase}/v1/operators/${other.sid}/ws`, {
    token: other.token,
  });
  const session = server.deps.sessions.get(seat.sid)!;
  await until(() => session.connected);
  const otherAnswer = server.deps.seniorBridges.get(other.sid)!.ask("T-9", "other");
  const otherAsk = await bystander.next();

  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q");
  const gate = server.deps.spawnHooks.get(seat.sid)!.before({
    runId: "r",
    taskId: "T-2",
    attempt: 1,
    agent: "a",
    runtime: {},
    operator: { kind: "main_ai", id: "x" },
  });
  const ask = await ws.next();
  const hb = await ws.next();
  const reqId = ask.type === "ask" ? ask.req_id : "";
  const hbId = hb.type === "hook_before" ? hb.req_id : "";

  const frames = malformedFrames(reqId, hbId);
  assert.equal(frames.length, 50);
  for (const text of frames) {
    ws.sendRaw(text);
    const reply = await ws.next();
    assert.equal(reply.type, "error", `expected an error frame for ${JSON.stringify(text)}`);
    if (reply.type === "error") assert.ok(reply.error.length > 0);
  }
  assert.equal(session.pendingCount, 2, "nothing was applied");
  assert.equal(ws.ws.readyState, WebSocket.OPEN);

  // still healthy: the real replies settle, the other session is untouched
  ws.send({ type: "answer", req_id: reqId, value: "ok" });
  ws.send({ type: "hook_ack", req_id: hbId, ok: true });
  assert.equal(await answer, "ok");
  await gate;
  bystander.send({
    type: "answer",
    req_id: otherAsk.type === "ask" ? otherAsk.req_id : "",
    value: "fine",
  });
  assert.equal(await otherAnswer, "fine");
  assert.equal((await fetch(`${server.base}/v1/healthz`)).status, 200);
});

Deno.test("a binary frame closes the socket with 1003 and nothing else", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const other = await server.mint();
  const ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  await using bystander = await openSocket(`${server.wsBase}/v1/operators/${other.sid}/ws`, {
    token: other.token,
  });
  const pending = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q");
  await ws.next();
  ws.sendRaw(new Uint8Array([1, 2, 3]));
  assert.equal((await ws.closed).code, 1003);
  // the seat survives: reconnect, get the replay, answer
  await using again = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  const replay = await again.next();
  again.send({ type: "answer", req_id: replay.type === "ask" ? replay.req_id : "", value: 1 });
  assert.equal(await pending, 1);
  bystander.send({ type: "ping" });
  assert.deepEqual(await bystander.next(), { type: "pong" });
});

Deno.test("a text frame over 1 MiB closes the socket with 1009", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  ws.sendRaw(JSON.stringify({ type: "ping", pad: "x".repeat(1024 * 1024) }));
  assert.equal((await ws.closed).code, 1009);
  assert.equal(server.deps.sessions.has(seat.sid), true);
});

Deno.test("a frame just under 1 MiB of multi-byte text is measured in bytes", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  // 400k three-byte characters: under 1 MiB of UTF-16 units, over 1 MiB of UTF-8.
  ws.sendRaw(JSON.stringify({ type: "ping", pad: "€".repeat(400_000) }));
  assert.equal((await ws.closed).code, 1009);
});

Deno.test("the error frame for a reply of the wrong shape names the req_id it carried", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  const session = server.deps.sessions.get(seat.sid)!;
  await until(() => session.connected);
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q");
  const ask = await ws.next();
  const reqId = ask.type === "ask" ? ask.req_id : "";
  const refusals: [unknown, string | undefined][] = [
    [{ type: "answer", req_id: reqId }, reqId],
    [{ type: "spawn_ack", req_id: reqId, ok: "yes" }, reqId],
    [{ type: "hook_ack", req_id: reqId, ok: 1 }, reqId],
    [{ type: "answer", req_id: 5, value: 1 }, undefined],
    [{ type: "answer", value: 1 }, undefined],
  ];
  for (const [sent, named] of refusals) {
    ws.send(sent);
    const reply = await ws.next();
    assert.equal(reply.type, "error", JSON.stringify(sent));
    assert.equal(reply.type === "error" ? reply.req_id : "?", named, JSON.stringify(reply));
  }
  assert.equal(session.pendingCount, 1, "nothing was applied");
  ws.send({ type: "answer", req_id: reqId, value: "ok" });
  assert.equal(await answer, "ok");
});
