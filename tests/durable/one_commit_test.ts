/**
 * A run stored by one commit (it started and ended before the KV write queue
 * took its writes) is one value in the KV file, and reads back whole after a
 * SIGKILL and a restart: its record, its steps and its events (as do the runs
 * stored by several commits beside it).
 */
import assert from "node:assert/strict";
import { call, readEvents, spawnServer, type SseEvent, tempKv } from "./_child.ts";

const identity = (i: number) => ({
  kind: "step",
  ref: "identity",
  in: { op: "lit", value: `v${i}` },
  out: { op: "path", at: `$.s${i}` },
});

/**
 * Runs started before the kill. The evaluator lets the event loop run once a run has
 * taken 10 ms (SLICE_MS in engine/flow/budget.ts), and the write queue then takes the
 * writes made so far: a run that outlasts its slice is stored by several commits. The
 * first run is cold (tests boot without warm-up) and any run may be descheduled on a
 * loaded machine, so one run alone was stored in one commit only now and then (7 of 15
 * under a load of 7 on 2 cores); one of several is enough, and every run reads back.
 */
const RUNS = 6;

Deno.test("a 3-step in-process run stored in one commit reads back whole after SIGKILL and a restart", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const runs: Array<{ runId: string; finalCtx: unknown; before: SseEvent[] }> = [];
  for (let i = 0; i < RUNS; i++) {
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
    runs.push({ runId, finalCtx: done.body!.final_ctx, before: await readEvents(first, runId) });
  }
  assert.equal(new Set(runs.map((r) => r.runId)).size, RUNS, "one new run each time");
  await first.kill("SIGKILL");

  // a run stored by one commit is one value beside its listing key
  const kinds = new Map<string, string[]>(runs.map((r) => [r.runId, []]));
  {
    using kv = await Deno.openKv(kvFile.path);
    for await (const { key } of kv.list({ prefix: ["runs"] })) {
      for (const [runId, list] of kinds) if (key.includes(runId)) list.push(String(key[1]));
    }
  }
  const oneValue = runs.filter((r) => kinds.get(r.runId)!.sort().join() === "order,run");
  assert.ok(oneValue.length > 0, `no run stored in one commit: ${JSON.stringify([...kinds])}`);

  await using second = await spawnServer(kvFile.path);
  for (const { runId, finalCtx, before } of [...oneValue, ...runs]) {
    const run = await call(second, "GET", `/v1/runs/${runId}`);
    assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
    assert.deepEqual(run.body!.final_ctx, finalCtx);
    assert.equal((run.body!.final_ctx as { s3: { echoed: string } }).s3.echoed, "v3");
    const steps = run.body!.steps as Array<{ agent: string; verdict: string }>;
    assert.deepEqual(steps.map((s) => s.verdict), ["pass", "pass", "pass"]);
    const after = await readEvents(second, runId);
    assert.deepEqual(after.map((e) => [e.id, e.event]), before.map((e) => [e.id, e.event]));
    assert.equal(after.at(-1)?.event, "run_ended");
    assert.deepEqual(
      (await readEvents(second, runId, { lastEventId: 6 })).map((e) => e.id),
      [7, 8],
    );
  }
});
