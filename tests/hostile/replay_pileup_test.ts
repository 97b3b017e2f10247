/**
 * Reconnects that never read: every socket of a seat gets a replay of all its
 * pending requests, and a replaced socket keeps what it could not send until its
 * peer goes (Deno's `bufferedAmount` reads 0 once it is closed). A client that
 * reconnected without reading piled one replay per connection into the server
 * (measured: 50 parked asks of 1 MB, 10 upgrades: 632 MB RSS against 166 MB).
 * Now a socket that opens while the seat's replaced sockets still hold more than
 * 16 MiB unsent is closed 1008 at once, without a replay.
 *
 * @module
 */
import assert from "node:assert/strict";
import { askBlueprint, postInline } from "./_big_runs.ts";
import { openSocket, startServer } from "../_helpers.ts";

const enc = new TextEncoder();

/** Sends an authorized upgrade on a raw connection, and reads nothing. */
async function silentUpgrade(port: number, sid: string, token: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(enc.encode(
    `GET /v1/operators/${sid}/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      `Sec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
  ));
  return conn;
}

/** Bytes a connection has been sent, read until it stays quiet for 1 s (at most 10 s, 64 MB). */
async function drain(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(1 << 20);
  let total = 0;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && total < 64_000_000) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf),
      new Promise<"quiet">((r) => timer = setTimeout(() => r("quiet"), 1_000)),
    ]);
    clearTimeout(timer);
    if (n === "quiet" || n === null) break;
    total += n;
  }
  return total;
}

Deno.test("a seat's reconnects that never read get one replay each until 16 MiB is held, then a 1008", async () => {
  await using server = await startServer();
  const seat = await server.mint(["rr"]);
  // 20 parked asks of 1 MB each: a replay is ~20 MB
  for (let i = 0; i < 20; i++) {
    const res = await postInline(server.base, "/v1/runs", askBlueprint("rr"), {
      init_ctx: { q: `${i}`.padEnd(1_000_000, "q") },
      ttl_secs: 60,
    });
    assert.equal(res.status, 202);
    await res.body?.cancel();
  }
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      conns.push(await silentUpgrade(server.port, seat.sid, seat.token));
      await new Promise((r) => setTimeout(r, 300)); // it opens (and replays) before the next
    }
    const sent: number[] = [];
    for (const conn of conns) sent.push(await drain(conn));
    const replays = sent.filter((n) => n > 16_000_000).length;
    // the first socket, and the one that replaced it; the rest got a close frame only
    assert.equal(replays, 2, `bytes sent per connection: ${sent.join(", ")}`);
    assert.ok(sent.every((n) => n > 16_000_000 || n < 1_000), `sent: ${sent.join(", ")}`);
  } finally {
    for (const conn of conns) conn.close();
  }
  // once those connections are gone, the seat's client connects and gets its replay
  await new Promise((r) => setTimeout(r, 200));
  await using socket = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  const first = await socket.next();
  assert.equal(first.type, "ask");
});
