/**
 * The operator socket's frame rate limit at the real path: the server as
 * `deno task start` runs it, configured by SWITCHBOARD_WS_FRAMES_PER_SEC and
 * SWITCHBOARD_WS_FRAME_BURST, and the start refused on nonsense values.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readConfig } from "../../config.ts";
import { parsePrometheus } from "../../observe/parse_prometheus.ts";
import { abortable, openSocket } from "../_helpers.ts";
import { startTask } from "./_task_start.ts";

const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });

Deno.test("readConfig reads the frame rate limit, with defaults 5,000/s and bursts of 20,000", () => {
  assert.deepEqual(readConfig(env({})).wsFrameRate, { perSec: 5_000, burst: 20_000 });
  assert.deepEqual(
    readConfig(env({ SWITCHBOARD_WS_FRAMES_PER_SEC: "50", SWITCHBOARD_WS_FRAME_BURST: " 7 " }))
      .wsFrameRate,
    { perSec: 50, burst: 7 },
  );
  assert.deepEqual(
    readConfig(env({ SWITCHBOARD_WS_FRAMES_PER_SEC: "", SWITCHBOARD_WS_FRAME_BURST: "" }))
      .wsFrameRate,
    { perSec: 5_000, burst: 20_000 },
  );
});

Deno.test("readConfig refuses a frame rate or burst that is not a positive integer", () => {
  for (const name of ["SWITCHBOARD_WS_FRAMES_PER_SEC", "SWITCHBOARD_WS_FRAME_BURST"]) {
    for (const raw of ["0", "-1", "1.5", "abc", "1e10", "Infinity", "NaN", "0x"]) {
      assert.throws(
        () => readConfig(env({ [name]: raw })),
        new RegExp(`^Error: ${name} must be an integer between 1 and 1000000000, got ${raw}$`),
        `${name}=${raw}`,
      );
    }
  }
});

Deno.test("deno task start with SWITCHBOARD_WS_FRAME_BURST=5 closes a socket's sixth frame 1008", async () => {
  await using server = await startTask(":memory:", {
    SWITCHBOARD_WS_FRAMES_PER_SEC: "1",
    SWITCHBOARD_WS_FRAME_BURST: "5",
  });
  const base = await server.listening;
  const minted = await fetch(`${base}/v1/operators`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  const { sid, token } = await minted.json();
  const wsBase = base.replace("http", "ws");
  const ws = await openSocket(`${wsBase}/v1/operators/${sid}/ws`, { token });
  for (let i = 0; i < 6; i++) ws.send({ type: "ping" });
  const closed = await abortable(ws.closed, AbortSignal.timeout(10_000));
  assert.deepEqual(closed, { code: 1008, reason: "frame rate limit" });
  assert.equal(ws.buffered().length, 5, "five pongs, then the close");

  const metrics = await (await fetch(`${base}/v1/metrics`)).text();
  const m = parsePrometheus(metrics);
  assert.equal(
    m.value("switchboard_operator_socket_policy_closes_total", { reason: "frame_rate" }),
    1,
  );
  // the seat is kept
  const seat = await fetch(`${base}/v1/operators/${sid}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(seat.status, 200);
  assert.equal((await seat.json()).sid, sid);

  server.signal("SIGTERM");
  await server.status;
  const warned = server.stderr().split("\n").filter((l) =>
    l.includes("operator socket over its frame rate limit")
  );
  assert.equal(warned.length, 1, server.stderr());
  const line = JSON.parse(warned[0]);
  assert.equal(line.level, "warn");
  assert.equal(line.sid, sid);
  assert.equal(line.frames_per_sec, 1);
  assert.equal(line.burst, 5);
});

Deno.test("deno task start refuses SWITCHBOARD_WS_FRAMES_PER_SEC=0 and SWITCHBOARD_WS_FRAME_BURST=lots", async () => {
  for (
    const [name, raw] of [["SWITCHBOARD_WS_FRAMES_PER_SEC", "0"], [
      "SWITCHBOARD_WS_FRAME_BURST",
      "lots",
    ]]
  ) {
    await using server = await startTask(":memory:", { [name]: raw });
    const status = await server.status;
    assert.equal(status.code, 1);
    assert.equal(
      server.stderr(),
      `switchboard: cannot start: ${name} must be an integer between 1 and 1000000000, got ${raw}\n`,
    );
  }
});
