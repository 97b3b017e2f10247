/**
 * Issue 3: the ask→answer round trip through an operator session, against a bare
 * Deno WebSocket echo of the same JSON, in the same run. Target: ≤ 1.3× the bare
 * echo, sequential and with 64 requests in flight.
 *
 * Ours: the engine's view, `seniorBridges.get(sid).ask(…)` on a real server (port
 * 0), answered by a real client that echoes the question back as the answer's
 * value. Baseline: `Deno.serve` + `Deno.upgradeWebSocket` sending the same `ask`
 * frame and resolving the reply from a plain `Map` by `req_id`, with the same
 * answering client.
 *
 * Two answering clients: Deno's own `WebSocket`, and a raw TCP client with
 * `TCP_NODELAY` (bench/_bench_helpers.ts). Deno's client leaves Nagle's algorithm
 * on, so any pipelined answers stall ~40 ms on delayed ACKs, for the bare echo as
 * much as for us; the raw client shows the server's own cost with many in flight.
 *
 * @module
 */
import { startServer } from "../tests/_helpers.ts";
import type { SeniorBridge } from "../engine/faces.ts";
import { defaultConfig } from "../deps.ts";
import { createLogger } from "../observe/log.ts";
import { openStores } from "../store/open_stores.ts";
import {
  answerEverything,
  BENCH_FRAME_RATE,
  connectRawSeat,
  connectSeat,
  QUESTION,
  startBareEcho,
} from "./_bench_helpers.ts";

const IN_FLIGHT = 64;
const TASK = "T-0000000000000001";

const server = await startServer({ config: { wsFrameRate: BENCH_FRAME_RATE } });
const denoSeat = await connectSeat(server);
answerEverything(denoSeat.socket.ws);
const rawSeat = await connectRawSeat(server);
const denoBridge: SeniorBridge = server.deps.seniorBridges.get(denoSeat.sid)!;
const rawBridge: SeniorBridge = server.deps.seniorBridges.get(rawSeat.sid)!;
// The server defaults: a Deno KV file store, and logs at `info` (lines discarded
// here, so the row shows building them, not the terminal).
const kvPath = await Deno.makeTempFile({ prefix: "switchboard-bench-", suffix: ".kv" });
const kvStores = await openStores({ kvPath });
const kvServer = await startServer({
  config: defaultConfig({ kvPath, wsFrameRate: BENCH_FRAME_RATE }),
  stores: kvStores,
});
const kvSeat = await connectRawSeat(kvServer);
const kvBridge: SeniorBridge = kvServer.deps.seniorBridges.get(kvSeat.sid)!;
const infoServer = await startServer({
  config: { wsFrameRate: BENCH_FRAME_RATE },
  log: createLogger({ level: "info", write() {} }),
});
const infoSeat = await connectRawSeat(infoServer);
const infoBridge: SeniorBridge = infoServer.deps.seniorBridges.get(infoSeat.sid)!;
// The KV stays open to the end (its write-behind queue may still be draining);
// unlinking the files is enough.
globalThis.addEventListener("unload", () => {
  for (const suffix of ["", "-shm", "-wal"]) {
    try {
      Deno.removeSync(kvPath + suffix);
    } catch {
      // not there
    }
  }
});
const bareDeno = await startBareEcho({ client: "deno" });
const bareRaw = await startBareEcho({ client: "raw" });

const many = (ask: () => Promise<unknown>) => Promise.all(Array.from({ length: IN_FLIGHT }, ask));

Deno.bench({
  name: "bare echo, Deno WebSocket client",
  group: "ask round trip, sequential, Deno WebSocket client",
  baseline: true,
  async fn() {
    await bareDeno.ask(TASK, QUESTION);
  },
});

Deno.bench({
  name: "session ask→answer, Deno WebSocket client",
  group: "ask round trip, sequential, Deno WebSocket client",
  async fn() {
    await denoBridge.ask(TASK, QUESTION);
  },
});

Deno.bench({
  name: "bare echo, raw nodelay client",
  group: "ask round trip, sequential, raw nodelay client",
  baseline: true,
  async fn() {
    await bareRaw.ask(TASK, QUESTION);
  },
});

Deno.bench({
  name: "session ask→answer, raw nodelay client",
  group: "ask round trip, sequential, raw nodelay client",
  async fn() {
    await rawBridge.ask(TASK, QUESTION);
  },
});

Deno.bench({
  name: "session ask→answer, raw nodelay client, Deno KV store",
  group: "ask round trip, sequential, raw nodelay client",
  async fn() {
    await kvBridge.ask(TASK, QUESTION);
  },
});

Deno.bench({
  name: "session ask→answer, raw nodelay client, logs at info",
  group: "ask round trip, sequential, raw nodelay client",
  async fn() {
    await infoBridge.ask(TASK, QUESTION);
  },
});

Deno.bench({
  name: `bare echo ×${IN_FLIGHT}, raw nodelay client`,
  group: `ask round trip, ${IN_FLIGHT} in flight, raw nodelay client`,
  baseline: true,
  async fn() {
    await many(() => bareRaw.ask(TASK, QUESTION));
  },
});

Deno.bench({
  name: `session ask→answer ×${IN_FLIGHT}, raw nodelay client`,
  group: `ask round trip, ${IN_FLIGHT} in flight, raw nodelay client`,
  async fn() {
    await many(() => rawBridge.ask(TASK, QUESTION));
  },
});

Deno.bench({
  name: `bare echo ×${IN_FLIGHT}, Deno WebSocket client`,
  group: `ask round trip, ${IN_FLIGHT} in flight, Deno WebSocket client (Nagle stall)`,
  baseline: true,
  n: 20,
  warmup: 2,
  async fn() {
    await many(() => bareDeno.ask(TASK, QUESTION));
  },
});

Deno.bench({
  name: `session ask→answer ×${IN_FLIGHT}, Deno WebSocket client`,
  group: `ask round trip, ${IN_FLIGHT} in flight, Deno WebSocket client (Nagle stall)`,
  n: 20,
  warmup: 2,
  async fn() {
    await many(() => denoBridge.ask(TASK, QUESTION));
  },
});
