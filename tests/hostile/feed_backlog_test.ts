/**
 * A run-feed reader that never reads: `GET /v1/runs/feed` kept every event it had
 * not sent in a list without bound, so one such connection kept every run that
 * ended (final ctx included) for as long as it stayed open (measured: 250 runs of
 * a 1.9 MB ctx, two such readers: 744 MB RSS, against 155 MB without them). Past
 * 16 Mi characters of unsent events its stream is ended.
 *
 * @module
 */
import assert from "node:assert/strict";
import { COPY_BLUEPRINT, postInline } from "./_big_runs.ts";
import { startServer } from "../_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One run whose final ctx is ~3.8 MB of JSON (`x` and its copy `y`), to its end. */
async function bigRun(base: string, i: number): Promise<void> {
  const res = await postInline(base, "/v1/runs", COPY_BLUEPRINT, {
    init_ctx: { x: `${i}`.padEnd(1_900_000, "x") },
  });
  assert.equal(res.status, 202);
  const { run_id } = await res.json();
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const view = await (await fetch(`${base}/v1/runs/${run_id}`)).json();
    if (view.status !== "running") return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("run did not end within 10 s");
}

Deno.test("a run-feed reader that never reads is let go past 16 Mi characters of unsent events", async () => {
  await using server = await startServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(enc.encode("GET /v1/runs/feed HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    // 12 runs: ~46 MB of events, far over what the socket buffers take
    for (let i = 0; i < 12; i++) await bigRun(server.base, i);
    // Now read: the stream must end (its last chunk) well before a keep-alive is due
    // (15 s), having sent only part of the events.
    let received = 0;
    let tail = "";
    const buf = new Uint8Array(1 << 20);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"late">((r) => setTimeout(() => r("late"), deadline - Date.now())),
      ]);
      if (n === "late" || n === null) break;
      received += n;
      tail = (tail + dec.decode(buf.subarray(0, n))).slice(-16);
      if (tail.endsWith("\r\n0\r\n\r\n")) break;
    }
    assert.ok(tail.endsWith("\r\n0\r\n\r\n"), `the feed did not end (${received} bytes read)`);
    assert.ok(received < 40_000_000, `the feed sent ${received} bytes: nothing was dropped`);
    // the server still serves
    assert.equal((await fetch(`${server.base}/v1/healthz`)).status, 200);
  } finally {
    conn.close();
  }
});
