/**
 * The worker routes' wire details that reference/http.md §5 fixes: the field order of
 * the prompt payload, and `attempt` of `POST /v1/worker/result` as a u32 (0 is a valid
 * number for an attempt that is not the current one, so 409 as SPEC §5 says).
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import {
  firstSpawn,
  nextOf,
  operatorAgentBlueprint,
  post,
  runEnded,
  seat,
  startRun,
} from "./_loop.ts";

Deno.test("GET /v1/worker/prompt answers {task_id, attempt, agent, system, prompt} in that order", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const blueprint = operatorAgentBlueprint({
    agents: [{
      name: "impl",
      kind: "operator",
      spec: { operator_ref: "main-ai" },
      profile: { system_prompt: "be {{ directive }}" },
    }],
  });
  const runId = await startRun(server, {
    blueprint: { kind: "inline", value: blueprint },
    init_ctx: {},
  });
  const spawn = await nextOf(op.ws, "spawn");
  const res = await fetch(`${server.base}/v1/worker/prompt?task_id=${spawn.task_id}`, {
    headers: { authorization: `Bearer ${spawn.worker_handle}` },
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.deepEqual(Object.keys(JSON.parse(text)), [
    "task_id",
    "attempt",
    "agent",
    "system",
    "prompt",
  ]);
  assert.deepEqual(JSON.parse(text), {
    task_id: spawn.task_id,
    attempt: 1,
    agent: "impl",
    system: "be do X",
    prompt: "do X",
  });
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: 1 });
  assert.equal((await runEnded(server, runId)).status, "succeeded");
  await op.ws.close();
});

Deno.test("POST /v1/worker/result with attempt 0 is a stale attempt (409), a negative one 422", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await firstSpawn(server);
  const auth = { authorization: `Bearer ${spawn.capability_token}` };
  const result = (attempt: number) =>
    post(server, "/v1/worker/result", { task_id: spawn.task_id, value: 1, attempt }, auth);

  const zero = await result(0);
  assert.equal(zero.status, 409, JSON.stringify(zero.body));
  assert.match(String(zero.body!.error), /attempt 0 is not the current attempt 1/);
  const negative = await result(-1);
  assert.equal(negative.status, 422, JSON.stringify(negative.body));

  assert.equal((await result(1)).status, 204, "the current attempt is still open");
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "ack" });
  const run = await runEnded(server, runId);
  assert.deepEqual(run.final_ctx, { r: 1 });
  await op.ws.close();
});

Deno.test("POST /v1/worker/result reads null ok and attempt as absent (ok: true, the current attempt)", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await firstSpawn(server);
  const posted = await post(
    server,
    "/v1/worker/result",
    { task_id: spawn.task_id, value: { done: true }, ok: null, attempt: null },
    { authorization: `Bearer ${spawn.capability_token}` },
  );
  assert.equal(posted.status, 204, JSON.stringify(posted.body));
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "ack" });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", "ok: null counts as ok");
  assert.deepEqual(run.final_ctx, { r: { done: true } });
  await op.ws.close();
});
