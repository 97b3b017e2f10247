/**
 * Issue 5: the worker's prompt→result HTTP pair against a bare Hono handler
 * doing the same JSON work, in the same run. Target: ≥ 0.7× its throughput.
 *
 * Ours: a real server (port 0) and a seated operator (`main-ai`). Before each
 * timed pair, a one-step run of an `operator`-kind agent is started and its
 * `spawn` frame received (not timed). Timed: `GET /v1/worker/prompt?task_id=…`
 * and `POST /v1/worker/result` with the spawn's capability token, as a sub-agent
 * does. After it (not timed) the operator sends `spawn_ack` and the run ends.
 *
 * Baseline: a bare `new Hono()` on its own `Deno.serve` with the same two routes:
 * it reads the bearer and the query, answers the same payload JSON, parses the
 * posted JSON body and answers 204. No auth checks, no validation, no task.
 *
 * @module
 */
import { Hono } from "hono";
import { startServer } from "../tests/_helpers.ts";
import type { StartedRun } from "../engine/mod.ts";
import type { SpawnFrame } from "../protocol/frames.ts";
import {
  BENCH_FRAME_RATE,
  connectQueuedSeat,
  operatorTask,
  startInProcess,
} from "./_bench_helpers.ts";

const IN_FLIGHT = 16;
const RESULT = { shipped: true, files: ["engine/flow/eval_flow.ts"], notes: "all tests pass" };

const server = await startServer({ config: { wsFrameRate: BENCH_FRAME_RATE } });
const operator = await connectQueuedSeat(server, ["main-ai"]);

const body = operatorTask("bench-worker");

/** Starts `n` runs and returns them with their spawn frames (untimed setup). */
async function spawned(n: number): Promise<Array<{ run: StartedRun; spawn: SpawnFrame }>> {
  const out: Array<{ run: StartedRun; spawn: SpawnFrame }> = [];
  for (let i = 0; i < n; i++) {
    const run = await startInProcess(server, body);
    out.push({ run, spawn: await operator.next("spawn") });
  }
  return out;
}

/** Acks the spawns and waits for their runs to succeed (untimed teardown). */
async function finish(items: Array<{ run: StartedRun; spawn: SpawnFrame }>): Promise<void> {
  for (const { spawn } of items) operator.send({ type: "spawn_ack", req_id: spawn.req_id });
  for (const { run } of items) {
    const record = await run.done;
    if (record.status !== "succeeded") throw new Error(`run ${record.status}: ${record.error}`);
  }
}

async function workerPair(base: string, taskId: string, token: string): Promise<void> {
  const auth = { authorization: `Bearer ${token}` };
  const prompt = await fetch(`${base}/v1/worker/prompt?task_id=${taskId}`, { headers: auth });
  if (prompt.status !== 200) throw new Error(`prompt: ${prompt.status} ${await prompt.text()}`);
  const payload = await prompt.json();
  const result = await fetch(`${base}/v1/worker/result`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ task_id: payload.task_id, value: RESULT, ok: true }),
  });
  if (result.status !== 204) throw new Error(`result: ${result.status} ${await result.text()}`);
  await result.body?.cancel();
}

const bare = new Hono()
  .get("/v1/worker/prompt", (c) => {
    const auth = c.req.header("authorization") ?? "";
    const taskId = c.req.query("task_id") ?? "";
    if (!auth.startsWith("Bearer ")) return c.json({ error: "unauthorized" }, 401);
    return c.json({ task_id: taskId, attempt: 1, agent: "impl", prompt: "do X" }, 200);
  })
  .post("/v1/worker/result", async (c) => {
    const auth = c.req.header("authorization") ?? "";
    if (!auth.startsWith("Bearer ")) return c.json({ error: "unauthorized" }, 401);
    const posted = await c.req.json();
    if (typeof posted.task_id !== "string") return c.json({ error: "bad body" }, 422);
    return c.body(null, 204);
  });
const bareServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, bare.fetch);
const bareBase = `http://127.0.0.1:${bareServer.addr.port}`;
const bareToken = (await spawned(1))[0];
await finish([bareToken]);

Deno.bench({
  name: "bare Hono prompt→result",
  group: "worker prompt→result, sequential",
  baseline: true,
  async fn(b) {
    b.start();
    await workerPair(bareBase, bareToken.spawn.task_id, bareToken.spawn.capability_token);
    b.end();
  },
});

Deno.bench({
  name: "Switchboard prompt→result",
  group: "worker prompt→result, sequential",
  async fn(b) {
    const items = await spawned(1);
    const { spawn } = items[0];
    b.start();
    await workerPair(server.base, spawn.task_id, spawn.capability_token);
    b.end();
    await finish(items);
  },
});

Deno.bench({
  name: `bare Hono prompt→result ×${IN_FLIGHT}`,
  group: `worker prompt→result, ${IN_FLIGHT} in flight`,
  baseline: true,
  async fn(b) {
    b.start();
    await Promise.all(
      Array.from(
        { length: IN_FLIGHT },
        () => workerPair(bareBase, bareToken.spawn.task_id, bareToken.spawn.capability_token),
      ),
    );
    b.end();
  },
});

Deno.bench({
  name: `Switchboard prompt→result ×${IN_FLIGHT}`,
  group: `worker prompt→result, ${IN_FLIGHT} in flight`,
  async fn(b) {
    const items = await spawned(IN_FLIGHT);
    b.start();
    await Promise.all(
      items.map(({ spawn }) => workerPair(server.base, spawn.task_id, spawn.capability_token)),
    );
    b.end();
    await finish(items);
  },
});
