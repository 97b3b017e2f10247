/**
 * A run stored by one commit (it started and ended before the KV write queue
 * took its writes) is one value in the KV file, and reads back whole after a
 * SIGKILL and a restart: its record, its steps and its events.
 */
import assert from "node:assert/strict";
import { call, readEvents, spawnServer, tempKv } from "./_child.ts";

const identity = (i: number) => ({
  kind: "step",
  ref: "identity",
  in: { op: "lit", value: `v${i}` },
  out: { op: "path", at: `$.s${i}` },
});

Deno.test("a 3-step in-process run stored in one commit reads back whole after SIGKILL and a restart", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const done = await call(first, "POST", "/v1/tasks", {
    blueprint: {
      kind: "inline",
      value: {
        id: "quick",
        agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
        flow: { kind: "seq", children: [identity(1), identity(2), identity(3)] },
      },
    },
    init_ctx: {},
  });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  const listed = await call(first, "GET", "/v1/runs?limit=1");
  const runId = (listed.body!.runs as Array<{ run_id: string }>)[0].run_id;
  // a watcher sees events only once they are durable: then the whole run is
  const before = await readEvents(first, runId);
  await first.kill("SIGKILL");

  // the run is one value beside its listing key
  {
    using kv = await Deno.openKv(kvFile.path);
    const kinds: string[] = [];
    for await (const { key } of kv.list({ prefix: ["runs"] })) {
      if (key.includes(runId)) kinds.push(String(key[1]));
    }
    assert.deepEqual(kinds.sort(), ["order", "run"]);
  }

  await using second = await spawnServer(kvFile.path);
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, done.body!.final_ctx);
  assert.equal((run.body!.final_ctx as { s3: { echoed: string } }).s3.echoed, "v3");
  const steps = run.body!.steps as Array<{ agent: string; verdict: string }>;
  assert.deepEqual(steps.map((s) => s.verdict), ["pass", "pass", "pass"]);
  const after = await readEvents(second, runId);
  assert.deepEqual(after.map((e) => [e.id, e.event]), before.map((e) => [e.id, e.event]));
  assert.equal(after.at(-1)?.event, "run_ended");
  assert.deepEqual((await readEvents(second, runId, { lastEventId: 6 })).map((e) => e.id), [7, 8]);
});
