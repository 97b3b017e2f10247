import assert from "node:assert/strict";
import { createLogger } from "../../observe/log.ts";
import { parsePrometheus } from "../../observe/parse_prometheus.ts";
import { openSocket, startServer, type TestServer, until } from "../_helpers.ts";

const POLICY_CLOSES = "switchboard_operator_socket_policy_closes_total";
const KiB = 1024;

async function slowConsumerCloses(server: TestServer): Promise<number | undefined> {
  const res = await fetch(`${server.base}/v1/metrics`);
  return parsePrometheus(await res.text()).value(POLICY_CLOSES, { reason: "slow_consumer" });
}

/** An operator socket over raw TCP that completes the handshake and then never reads. */
async function deafSocket(server: TestServer, sid: string, token: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const head = [
    `GET /v1/operators/${sid}/ws HTTP/1.1`,
    `Host: 127.0.0.1:${server.port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    `Authorization: Bearer ${token}`,
    "",
    "",
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(head));
  const buf = new Uint8Array(1024);
  const n = await conn.read(buf);
  const answer = new TextDecoder().decode(buf.subarray(0, n ?? 0));
  assert.match(answer, /^HTTP\/1\.1 101 /);
  return conn;
}

Deno.test("a socket that never reads is closed 1008 `slow consumer` once its backlog stays over the limit; the seat and its requests stay", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (line: string) => lines.push(line) });
  await using server = await startServer({
    // a grace period the replay below (one burst far over 1 MiB) stays within
    config: { wsSendBacklog: { maxBytes: 1024 * KiB, graceMs: 300 } },
    log,
  });
  const { sid, token } = await server.mint();
  const conn = await deafSocket(server, sid, token);
  const seat = server.deps.sessions.get(sid)!;
  await until(() => seat.connected);

  // asks of 256 KiB each: the kernel's buffers fill first, then the server's backlog grows
  const asks: Promise<unknown>[] = [];
  const question = "q".repeat(256 * KiB);
  for (let i = 0; i < 400 && seat.connected; i++) {
    asks.push(server.deps.seniorBridges.get(sid)!.ask(`T-${i}`, question).catch((e) => e));
    await new Promise((r) => setTimeout(r, 10)); // ~25 MB/s, so the grace passes within ~50 asks
  }
  await until(() => !seat.connected);
  assert.ok(asks.length < 400, `still connected after ${asks.length} asks of 256 KiB`);
  console.log(`closed after ${asks.length} asks of 256 KiB`);
  assert.equal(await slowConsumerCloses(server), 1);
  const warned = lines.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "operator socket not reading its frames"
  );
  assert.equal(warned.length, 1);
  assert.equal(warned[0].sid, sid);
  assert.equal(warned[0].code, 1008);

  // the seat is kept and its asks are pending: a client that reads gets them all
  assert.equal(seat.pendingCount, asks.length);
  await using reader = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  for (let i = 0; i < asks.length; i++) {
    const frame = await reader.next({ signal: AbortSignal.timeout(10_000) });
    assert.equal(frame.type, "ask");
    if (frame.type === "ask") reader.send({ type: "answer", req_id: frame.req_id, value: i });
  }
  assert.deepEqual(await Promise.all(asks), asks.map((_, i) => i));
  conn.close();
});

Deno.test("a client that reads is not closed when a reconnect replays more than the backlog limit at once", async () => {
  await using server = await startServer({
    config: { wsSendBacklog: { maxBytes: 256 * KiB, graceMs: 10_000 } },
  });
  const { sid, token } = await server.mint();
  // 40 asks of 128 KiB (5 MiB) wait for the seat's first socket, replayed in one burst
  const question = "q".repeat(128 * KiB);
  const asks = Array.from(
    { length: 40 },
    (_, i) => server.deps.seniorBridges.get(sid)!.ask(`T-${i}`, question),
  );
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  for (let i = 0; i < asks.length; i++) {
    const frame = await ws.next({ signal: AbortSignal.timeout(10_000) });
    assert.equal(frame.type, "ask");
    if (frame.type === "ask") ws.send({ type: "answer", req_id: frame.req_id, value: i });
  }
  assert.deepEqual(await Promise.all(asks), asks.map((_, i) => i));
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" });
  assert.equal(await slowConsumerCloses(server), 0);
});
