import assert from "node:assert/strict";
import { createLogger } from "../../observe/log.ts";
import { parsePrometheus } from "../../observe/parse_prometheus.ts";
import { openSocket, startServer, type TestServer, type TestSocket } from "../_helpers.ts";
import type { FrameRateLimit } from "../../session/frame_bucket.ts";

const POLICY_CLOSES = "switchboard_operator_socket_policy_closes_total";

async function policyCloses(server: TestServer, reason: string): Promise<number | undefined> {
  const res = await fetch(`${server.base}/v1/metrics`);
  return parsePrometheus(await res.text()).value(POLICY_CLOSES, { reason });
}

async function seated(server: TestServer): Promise<{ sid: string; token: string; ws: TestSocket }> {
  const { sid, token } = await server.mint();
  const ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  return { sid, token, ws };
}

/** Resolves with the socket's close, or rejects after `ms`. */
function closedWithin(ws: TestSocket, ms: number): Promise<{ code: number; reason: string }> {
  const { promise, reject } = Promise.withResolvers<never>();
  const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
  return Promise.race([ws.closed, promise]).finally(() => clearTimeout(timer));
}

/**
 * The server closes 1008; a client whose frames still arrive after that close
 * sees the connection dropped instead (Deno drops a server socket that reads a
 * frame while closing, README "Known limits"): code 0 or 1006.
 */
async function closedForRate(ws: TestSocket, ms = 5_000): Promise<void> {
  const { code, reason } = await closedWithin(ws, ms);
  if (code === 1008) assert.equal(reason, "frame rate limit");
  else assert.ok(code === 0 || code === 1006, `closed ${code} ${reason}`);
}

Deno.test("under the default limit a flood of 5,000 bad frames is closed 1008 while another seat's ask round trip stays prompt", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (line: string) => lines.push(line) });
  await using server = await startServer({ log });
  const flooder = await seated(server);
  const honest = await seated(server);
  // a request pending on the flooder's seat: it must survive the close and be replayed
  const pending = server.deps.seniorBridges.get(flooder.sid)!.ask("T-1", "still there?");
  const asked = await flooder.ws.next();
  assert.equal(asked.type, "ask");

  const started = performance.now();
  for (let i = 0; i < 30_000; i++) flooder.ws.sendRaw(i % 2 ? "not json" : "{}");
  const closing = closedForRate(flooder.ws, 10_000);

  // the other seat's ask round trip, during the flood
  const askAt = performance.now();
  const answer = server.deps.seniorBridges.get(honest.sid)!.ask("T-2", "ping?");
  const frame = await honest.ws.next({ signal: AbortSignal.timeout(5_000) });
  assert.equal(frame.type, "ask");
  honest.ws.send({ type: "answer", req_id: frame.type === "ask" ? frame.req_id : "", value: 1 });
  assert.equal(await answer, 1);
  const roundTripMs = performance.now() - askAt;
  // the burst (20,000 bad frames, 0.4–1 s of server CPU) is what the other seat may wait
  assert.ok(roundTripMs < 5_000, `the other seat's round trip took ${roundTripMs.toFixed(0)} ms`);

  await closing;
  const closeMs = performance.now() - started;
  // at most the bucket (20,000, and 5,000/s more) was answered, never the whole flood
  const errors = flooder.ws.buffered().filter((f) => f.type === "error").length;
  assert.ok(errors < 30_000, `${errors} error frames`);
  console.log(
    `flood closed after ${closeMs.toFixed(0)} ms, ${errors} error frames; ` +
      `other seat's round trip ${roundTripMs.toFixed(0)} ms`,
  );

  assert.equal(await policyCloses(server, "frame_rate"), 1);
  const warned = lines.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "operator socket over its frame rate limit"
  );
  assert.equal(warned.length, 1, "one warning line");
  assert.equal(warned[0].sid, flooder.sid);
  assert.equal(warned[0].level, "warn");
  assert.equal(warned[0].code, 1008);

  // the seat is kept: reconnect, get the pending ask again, answer it
  assert.equal(server.deps.sessions.has(flooder.sid), true);
  await using again = await openSocket(`${server.wsBase}/v1/operators/${flooder.sid}/ws`, {
    token: flooder.token,
  });
  const replay = await again.next();
  assert.equal(replay.type === "ask" && replay.req_id, asked.type === "ask" && asked.req_id);
  again.send({ type: "answer", req_id: replay.type === "ask" ? replay.req_id : "", value: "yes" });
  assert.equal(await pending, "yes");
  await honest.ws.close();
});

Deno.test("big bad frames cost by their size: 40 of 512 KiB are cut off by a bucket of 2,000", async () => {
  const wsFrameRate: FrameRateLimit = { perSec: 2_000, burst: 2_000 };
  await using server = await startServer({ config: { wsFrameRate } });
  const flooder = await seated(server);
  const big = "x".repeat(512 * 1024); // 129 tokens each: the bucket of 2,000 holds 15
  for (let i = 0; i < 40; i++) flooder.ws.sendRaw(big);
  await closedForRate(flooder.ws, 10_000);
  const errors = flooder.ws.buffered().filter((f) => f.type === "error").length;
  assert.ok(errors < 30, `${errors} error frames`);
  assert.equal(await policyCloses(server, "frame_rate"), 1);
});

Deno.test("one frame over the burst, then silence: the client reads close 1008 `frame rate limit`", async () => {
  const wsFrameRate: FrameRateLimit = { perSec: 1, burst: 10 };
  await using server = await startServer({ config: { wsFrameRate } });
  const seat = await seated(server);
  for (let i = 0; i < 11; i++) seat.ws.send({ type: "ping" });
  assert.deepEqual(await closedWithin(seat.ws, 5_000), { code: 1008, reason: "frame rate limit" });
  const pongs = seat.ws.buffered().filter((f) => f.type === "pong").length;
  assert.equal(pongs, 10, "the burst was answered, the frame over it was not");
  assert.equal(await policyCloses(server, "frame_rate"), 1);
});

Deno.test("a client at a steady 50 frames/s under a 100/s limit is never closed; 60 at once are", async () => {
  // a burst of 40 absorbs the steady client's frames bunching behind a stall of up to 800 ms
  const wsFrameRate: FrameRateLimit = { perSec: 100, burst: 40 };
  await using server = await startServer({ config: { wsFrameRate } });
  const steady = await seated(server);
  for (let i = 0; i < 50; i++) {
    steady.ws.send({ type: "ping" });
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < 50; i++) {
    assert.deepEqual(await steady.ws.next(), { type: "pong" }, `pong ${i}`);
  }
  assert.equal(steady.ws.ws.readyState, WebSocket.OPEN);

  // control: the limit is live in this config, so the steady client could have failed
  const hasty = await seated(server);
  for (let i = 0; i < 60; i++) hasty.ws.send({ type: "ping" });
  await closedForRate(hasty.ws);
  assert.equal(await policyCloses(server, "frame_rate"), 1);

  steady.ws.send({ type: "ping" });
  assert.deepEqual(await steady.ws.next(), { type: "pong" });
  await steady.ws.close();
});

Deno.test("the frame bucket belongs to the seat: reconnecting at once does not refill it", async () => {
  const wsFrameRate: FrameRateLimit = { perSec: 1, burst: 20 };
  await using server = await startServer({ config: { wsFrameRate } });
  const seat = await seated(server);
  for (let i = 0; i < 30; i++) seat.ws.send({ type: "ping" });
  await closedForRate(seat.ws);
  await using again = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  for (let i = 0; i < 5; i++) again.send({ type: "ping" });
  await closedForRate(again);
  // another seat on the same server has its own full bucket
  const other = await seated(server);
  for (let i = 0; i < 20; i++) other.ws.send({ type: "ping" });
  for (let i = 0; i < 20; i++) assert.deepEqual(await other.ws.next(), { type: "pong" });
  await other.ws.close();
  assert.equal(await policyCloses(server, "frame_rate"), 2);
});

Deno.test("the default frame limit leaves a burst of 10,000 replies and pings alone", async () => {
  await using server = await startServer();
  const seat = await seated(server);
  // what client/ sends after a reconnect that replays 5,000 pending requests (the shared
  // measuring stick acks 10,000 parked spawns in one go)
  for (let i = 0; i < 5_000; i++) {
    seat.ws.send({ type: "answer", req_id: `${seat.sid}-ask-${i}`, value: i });
    seat.ws.send({ type: "ping" });
  }
  let pongs = 0;
  let errors = 0;
  const signal = AbortSignal.timeout(20_000);
  while (pongs < 5_000) {
    const f = await seat.ws.next({ signal });
    if (f.type === "pong") pongs++;
    else if (f.type === "error") errors++;
  }
  assert.equal(errors, 5_000);
  assert.equal(seat.ws.ws.readyState, WebSocket.OPEN);
  assert.equal(await policyCloses(server, "frame_rate"), 0);
  await seat.ws.close();
});
