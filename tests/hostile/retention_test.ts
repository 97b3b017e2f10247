/**
 * Finding 12: run history is pruned. Ended runs older than
 * SWITCHBOARD_RUN_RETENTION_SECS are deleted by the background sweep, with
 * their events, steps and tokens, from the KV file; newer and running ones stay.
 * Data records go after the same retention.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openDeps, startBackground } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import { startServer } from "../_helpers.ts";
import { tempKvPath } from "./_task_start.ts";

Deno.test("the sweep deletes ended runs past their retention, with their events, and keeps the rest", async () => {
  await using kv = await tempKvPath();
  let clock = Date.now();
  const deps = await openDeps(
    defaultConfig({ kvPath: kv.path, runRetentionSecs: 3600 }),
    { now: () => clock },
  );
  try {
    await using server = await startServer({ deps });
    const run = async () => {
      const res = await fetch(`${server.base}/v1/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ blueprint: { kind: "id", id: "main" }, init_ctx: { x: 1 } }),
      });
      const { run_id } = await res.json();
      // bounded in time, not in polls: a loaded machine makes each poll slower
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        const view = await (await fetch(`${server.base}/v1/runs/${run_id}`)).json();
        if (view.status !== "running") return run_id as string;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error("run did not end within 10 s");
    };
    const record = (id: string) => ({
      id,
      task_id: "T-1",
      attempt: 1,
      producer_agent: "p",
      event: { type: "final" as const, content: { kind: "inline" as const, value: id }, ok: true },
      parent_refs: [],
      created_at: clock,
    });
    const old = await run();
    await deps.stores.data.putOutput(record("out-old"));
    clock += 2 * 3600_000; // two hours later
    const recent = await run();
    await deps.stores.data.putOutput(record("out-new"));
    const background = startBackground(deps);
    await background.sweep();
    await background.stop();
    assert.equal((await fetch(`${server.base}/v1/runs/${old}`)).status, 404);
    assert.deepEqual(await deps.stores.runs.listEvents(old), []);
    assert.deepEqual(await deps.stores.runs.listSteps(old), []);
    const kept = await fetch(`${server.base}/v1/runs/${recent}`);
    assert.equal(kept.status, 200);
    assert.equal((await kept.json()).status, "succeeded");
    assert.ok((await deps.stores.runs.listEvents(recent)).length > 0);
    // data records go after the same retention
    assert.equal(await deps.stores.data.getOutput("out-old"), undefined);
    assert.equal((await deps.stores.data.getOutput("out-new"))?.id, "out-new");
    assert.equal((await deps.stores.data.latestByProducer("p"))?.id, "out-new");
  } finally {
    await deps.close();
  }
});

Deno.test("a detached session's token stays ended in the store, and the sweep deletes expired session tokens", async () => {
  await using kv = await tempKvPath();
  let clock = Date.now();
  const deps = await openDeps(defaultConfig({ kvPath: kv.path }), { now: () => clock });
  try {
    await using server = await startServer({ deps });
    const attach = async (ttl: number) => {
      const res = await fetch(`${server.base}/v1/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ agent_id: "a", role: "observer", ttl_secs: ttl }),
      });
      assert.equal(res.status, 200);
      return (await res.json()).session_id as string;
    };
    const short = await attach(60);
    const long = await attach(86_400);
    const detached = await attach(86_400);
    const res = await fetch(`${server.base}/v1/sessions`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${detached}` },
    });
    assert.equal(res.status, 204);
    await deps.stores.runs.flushed();
    // a restart reads the stored record: it must not verify again
    assert.equal((await deps.stores.runs.getToken(detached))?.ended, true);
    assert.equal((await deps.stores.runs.getToken(short))?.ended, false);
    clock += 120_000; // the 60 s session has expired
    const background = startBackground(deps);
    await background.sweep();
    await background.stop();
    assert.equal(await deps.stores.runs.getToken(short), undefined);
    assert.equal((await deps.stores.runs.getToken(long))?.nonce, long);
    const live = (await deps.stores.runs.listLiveTokens()).map((t) => t.nonce);
    assert.ok(!live.includes(short) && live.includes(long));
  } finally {
    await deps.close();
  }
});
