/**
 * SPEC §4 and §5: a worker handle expires when its task ends, while the
 * capability token minted with it works until its run ends (then 410); the
 * task's own routes answer 410 once the task has ended, whatever the credential.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { firstSpawn, get, nextOf, operatorAgentBlueprint, post, runEnded } from "./_loop.ts";

const bearer = (b: string) => ({ authorization: `Bearer ${b}` });

Deno.test("a task's handle ends with the task, its token with the run", async () => {
  await using server = await startServer();
  const { op, runId, spawn: first } = await firstSpawn(
    server,
    operatorAgentBlueprint({
      flow: {
        kind: "seq",
        children: [
          { kind: "step", ref: "impl", in: "'first'", out: "$.a" },
          { kind: "step", ref: "impl", in: "'second'", out: "$.b" },
        ],
      },
    }),
  );
  op.ws.send({ type: "spawn_ack", req_id: first.req_id, value: { done: 1 }, ok: true });
  const second = await nextOf(op.ws, "spawn"); // the first task has ended, the run goes on

  const emit = (credential: string, name: string) =>
    post(server, "/v1/data/emit", {
      task_id: first.task_id,
      attempt: 1,
      producer_agent: "impl",
      name,
      event: { type: "final", content: { kind: "inline", value: name }, ok: true },
    }, bearer(credential));

  const byToken = await emit(first.capability_token, "late-note");
  assert.equal(byToken.status, 200, JSON.stringify(byToken.body));
  const byHandle = await emit(first.worker_handle!, "late-note-2");
  assert.equal(byHandle.status, 410, JSON.stringify(byHandle.body));
  assert.match(String(byHandle.body!.error), /worker handle has ended/);
  const result = await post(
    server,
    "/v1/worker/result",
    { task_id: first.task_id, value: "again" },
    bearer(first.capability_token),
  );
  assert.equal(result.status, 410, "a post after the task ended");
  const prompt = await get(
    server,
    `/v1/worker/prompt?task_id=${first.task_id}`,
    bearer(first.capability_token),
  );
  assert.equal(prompt.status, 410, "the prompt of an ended task");

  op.ws.send({ type: "spawn_ack", req_id: second.req_id, value: { done: 2 }, ok: true });
  assert.equal((await runEnded(server, runId)).status, "succeeded");
  const afterRun = await emit(first.capability_token, "too-late");
  assert.equal(afterRun.status, 410, "the run has ended");
  assert.match(String(afterRun.body!.error), /run of this token has ended/);
});
