/**
 * Issue 5: a full spawn round trip, engine → WebSocket → operator `spawn_ack`,
 * with p50 and p99.
 *
 * Ours: a one-step run of an `operator`-kind agent on a real server (port 0):
 * `prepareRun` + `engine.start`, the session sends `spawn` (with a freshly minted
 * capability token and directive), a real operator client answers `spawn_ack`
 * at once, and the run succeeds; timed until `await run.done`. A second row does
 * the same through `POST /v1/tasks` (HTTP in, JSON out). Baseline: the bare
 * WebSocket echo of a spawn-sized frame (bench/_bench_helpers.ts).
 *
 * deno bench prints avg, p75, p99; the `…percentiles` bench runs 1,000 round
 * trips back to back and prints p50/p90/p99/max itself.
 *
 * @module
 */
import { startServer } from "../tests/_helpers.ts";
import {
  BENCH_FRAME_RATE,
  connectRawSeat,
  operatorTask,
  sampleSequential,
  startBareEcho,
  startInProcess,
  summarize,
} from "./_bench_helpers.ts";

const SAMPLES = 1_000;

const server = await startServer({ config: { wsFrameRate: BENCH_FRAME_RATE } });
await connectRawSeat(server, { roles: ["main-ai"] });
const bare = await startBareEcho({ client: "raw" });

const body = operatorTask("bench-spawn");
const bodyText = JSON.stringify(body);

async function spawnRun(): Promise<void> {
  const run = await startInProcess(server, body);
  const record = await run.done;
  if (record.status !== "succeeded") throw new Error(`run ${record.status}: ${record.error}`);
}

async function spawnTask(): Promise<void> {
  const res = await fetch(`${server.base}/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: bodyText,
  });
  if (res.status !== 200) throw new Error(`POST /v1/tasks: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

// A spawn frame of the size Switchboard sends (token, handle, directive).
const DIRECTIVE =
  `Fetch your prompt with GET ${server.base}/v1/worker/prompt?task_id=T-0000000000000001 ` +
  "and post your result to /v1/worker/result with the capability token as a Bearer. ".repeat(4);
const TOKEN = "x".repeat(380);

function bareSpawn() {
  return bare.request((reqId) => ({
    type: "spawn",
    req_id: reqId,
    task_id: "T-0000000000000001",
    agent: "impl",
    attempt: 1,
    capability_token: TOKEN,
    worker_handle: "wh-0123abcd",
    directive: DIRECTIVE,
  }));
}

Deno.bench({
  name: "bare WebSocket spawn/spawn_ack echo",
  group: "spawn round trip",
  baseline: true,
  async fn() {
    await bareSpawn();
  },
});

Deno.bench({
  name: "engine run: spawn → WS → spawn_ack → done",
  group: "spawn round trip",
  async fn() {
    await spawnRun();
  },
});

Deno.bench({
  name: "POST /v1/tasks: spawn → WS → spawn_ack → 200",
  group: "spawn round trip",
  async fn() {
    await spawnTask();
  },
});

Deno.bench({
  name: `spawn round trip percentiles (${SAMPLES} back to back, printed)`,
  n: 1,
  warmup: 0,
  async fn() {
    console.log(summarize("  bare WS spawn echo     ", await sampleSequential(SAMPLES, bareSpawn)));
    console.log(summarize("  engine spawn round trip", await sampleSequential(SAMPLES, spawnRun)));
    console.log(summarize("  POST /v1/tasks spawn   ", await sampleSequential(SAMPLES, spawnTask)));
  },
});
