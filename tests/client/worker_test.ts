import assert from "node:assert/strict";
import {
  connectOperator,
  startRun,
  SwitchboardError,
  waitRun,
  worker,
  workerFromSpawn,
} from "../../client/mod.ts";
import type { SpawnReply } from "../../client/mod.ts";
import type { SpawnFrame } from "../../protocol/frames.ts";
import { startServer, type TestServer } from "../_helpers.ts";
import { spawningRun } from "./_fixtures.ts";

/** Seats an operator whose spawns are done by `work`, runs once, returns the run. */
async function runWith(server: TestServer, work: (frame: SpawnFrame) => Promise<SpawnReply>) {
  const seat = await server.mint(["doer"]);
  await using op = await connectOperator({ url: server.base, ...seat, heartbeatMs: 0 });
  op.onSpawn(work);
  const { run_id } = await startRun({ url: server.base, body: spawningRun("doer") });
  return await waitRun({ url: server.base, runId: run_id });
}

Deno.test("worker prompt() and submit() with the handle make the step's output", async () => {
  await using server = await startServer();
  const run = await runWith(server, async (frame) => {
    const w = workerFromSpawn(frame, { url: server.base, useHandle: true });
    const payload = await w.prompt();
    assert.deepEqual([payload.task_id, payload.agent, payload.prompt], [
      frame.task_id,
      "impl",
      "do X",
    ]);
    await assert.rejects(w.result("x"), /needs the capability token/);
    await w.submit({ text: `did: ${payload.prompt}  \n` });
    return { value: {} };
  });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: "did: do X" });
});

Deno.test("worker result() with the capability token posts a JSON final, and a second one is 409", async () => {
  await using server = await startServer();
  const run = await runWith(server, async (frame) => {
    const w = worker({ url: server.base, taskId: frame.task_id, token: frame.capability_token });
    await w.result({ n: 1 });
    const again = await w.result({ n: 2 }).catch((e) => e);
    assert.ok(again instanceof SwitchboardError);
    assert.equal(again.status, 409);
    return { value: "ignored: a final exists" };
  });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { n: 1 } });
});

Deno.test("worker submit() with ok:false blocks the step", async () => {
  await using server = await startServer();
  const run = await runWith(server, async (frame) => {
    await workerFromSpawn(frame, { url: server.base }).submit({ text: "cannot", ok: false });
    return { value: {} };
  });
  assert.equal(run.status, "failed");
  assert.match(run.error ?? "", /blocked: "cannot"/);
});

Deno.test("worker calls after the task ended answer 410", async () => {
  await using server = await startServer();
  let spawn: SpawnFrame | undefined;
  const run = await runWith(server, (frame) => {
    spawn = frame;
    return Promise.resolve({ value: "done" });
  });
  assert.equal(run.status, "succeeded");
  const err = await workerFromSpawn(spawn!, { url: server.base }).prompt().catch((e) => e);
  assert.ok(err instanceof SwitchboardError);
  assert.ok(err.status === 410 || err.status === 401, `status ${err.status}: ${err.message}`);
});
