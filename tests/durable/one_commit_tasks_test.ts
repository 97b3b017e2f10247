/**
 * An operator run stored by one commit (it started and ended before the KV write
 * queue took its writes) keeps its tasks inside its record: after a restart its
 * trace still shows each step's input and output, and its worker's token and
 * handle answer 410, as for a run stored by several commits.
 */
import assert from "node:assert/strict";
import { openDeps } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import { startServer } from "../_helpers.ts";
import { get, nextOf, post, seat } from "../engine/_loop.ts";
import { tempKv } from "./_child.ts";
import { getJson } from "../../store/_kv_json.ts";
import { kvRunKeys, type StoredRun } from "../../store/_kv_run_keys.ts";

const keys = kvRunKeys(["runs"]);

/** Runs, one after another. */
const RUNS = 20;

Deno.test("an operator run stored by one commit keeps its trace and its 410s after a restart", async () => {
  await using kvFile = await tempKv();
  const config = defaultConfig({ kvPath: kvFile.path });
  const spawned = new Map<string, { token: string; handle: string }>();
  {
    const deps = await openDeps(config);
    await using server = await startServer({ deps });
    const op = await seat(server, ["main-ai"]);
    const blueprint = {
      id: "quick-op",
      operators: [{ name: "main-ai" }],
      agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } }],
      flow: {
        kind: "step",
        ref: "impl",
        in: { op: "lit", value: "go" },
        out: { op: "path", at: "$.r" },
      },
    };
    // one after another, as a client loops: a run that starts while the previous
    // run's commit is in flight and ends before it returns is stored by one commit
    // (a large ctx makes each commit take a while)
    const body = {
      blueprint: { kind: "inline", value: blueprint },
      init_ctx: { pad: "x".repeat(400_000) },
    };
    for (let i = 0; i < RUNS; i++) {
      const done = post(server, "/v1/tasks", body);
      const spawn = await nextOf(op.ws, "spawn");
      spawned.set(spawn.task_id, { token: spawn.capability_token, handle: spawn.worker_handle! });
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: { n: i } });
      assert.equal((await done).status, 200);
    }
    await deps.engine.durable();
    await op.ws.close();
    await server.close();
    await deps.close();
  }
  // the runs stored by one commit: no task key of theirs in the file
  const oneCommit: Array<{ runId: string; taskId: string }> = [];
  {
    using kv = await Deno.openKv(kvFile.path);
    const taskKeys = new Set<string>();
    for await (const { key } of kv.list({ prefix: ["runs", "task"] })) taskKeys.add(String(key[2]));
    for await (const { key } of kv.list({ prefix: ["runs", "run"] })) {
      const runId = String(key[2]);
      const stored = await getJson<StoredRun>(kv, key, keys.blobs);
      const tasks = stored?.embedded?.tasks ?? [];
      for (const t of tasks) {
        assert.equal(taskKeys.has(t.id), false, "a task kept in its run's record has no key");
        oneCommit.push({ runId, taskId: t.id });
      }
    }
  }
  assert.ok(oneCommit.length > 0, "no run was stored by one commit");

  const deps = await openDeps(config);
  await using server = await startServer({ deps });
  try {
    for (const { runId, taskId } of oneCommit) {
      const trace = await get(server, `/v1/runs/${runId}/trace`);
      assert.equal(trace.status, 200, JSON.stringify(trace.body));
      const [step] = trace.body!.steps as Array<Record<string, unknown>>;
      assert.equal(step.task_id, taskId);
      assert.equal(step.input, "go");
      assert.equal(step.ok, true);
      assert.ok(step.output && typeof step.output === "object", JSON.stringify(step));
      const { token, handle } = spawned.get(taskId)!;
      for (const bearer of [token, handle]) {
        const res = await get(server, `/v1/worker/prompt?task_id=${taskId}`, {
          authorization: `Bearer ${bearer}`,
        });
        assert.equal(res.status, 410, JSON.stringify(res.body));
      }
    }
  } finally {
    await server.close();
    await deps.close();
  }
});
