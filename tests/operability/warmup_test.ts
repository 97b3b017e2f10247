/**
 * The boot warm-up (warmup.ts) as `deno task start` runs it: on by default, it
 * completes its rounds under the start task's permissions, leaves nothing in the
 * real store, metrics or logs, and the server then serves as usual.
 */
import assert from "node:assert/strict";
import { readConfig } from "../../config.ts";
import { call, spawnServer, tempKv } from "../durable/_child.ts";

const IDENTITY = {
  id: "after-warmup",
  agents: [{ name: "id", kind: "rust_fn", spec: { fn_id: "identity" } }],
  flow: { kind: "step", ref: "id", in: { op: "lit", value: "v" }, out: { op: "path", at: "$.r" } },
};

Deno.test("the default warm-up runs at boot and leaves no trace in the store", async () => {
  await using kv = await tempKv();
  {
    // "" = unset: the default number of rounds
    await using server = await spawnServer(kv.path, { env: { SWITCHBOARD_WARMUP: "" } });
    const runs = await call(server, "GET", "/v1/runs");
    assert.equal(runs.status, 200);
    assert.deepEqual(runs.body?.runs, []);
    const blueprints = await call(server, "GET", "/v1/blueprints");
    assert.equal(blueprints.status, 200);
    assert.equal(JSON.stringify(blueprints.body).includes("warmup"), false);
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    assert.doesNotMatch(metrics, /^switchboard_runs_total\{/m); // no run has ended here yet
    const ran = await call(server, "POST", "/v1/tasks", {
      blueprint: { kind: "inline", value: IDENTITY },
      init_ctx: {},
    });
    assert.equal(ran.status, 200, JSON.stringify(ran.body));
    assert.deepEqual(ran.body?.final_ctx, {
      r: { agent: "id", by: "baseline-identity", echoed: "v" },
    });

    const logLines = () =>
      server.stderr().split("\n").filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const ours = (l: Record<string, unknown>) => String(l.path ?? "").startsWith("/v1/tasks");
    // log lines are written in batches a few milliseconds apart (observe/log.ts FLUSH_MS)
    for (let i = 0; i < 100 && !logLines().some(ours); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const lines = logLines();
    const done = lines.find((l) => l.msg === "warm-up done");
    assert.ok(done, `no warm-up line in:\n${server.stderr()}`);
    assert.ok(Number(done.rounds) > 0 && Number(done.rounds) <= 3000, JSON.stringify(done));
    // the warm-up's own requests and runs are not logged
    assert.equal(lines.some(ours), true); // ours
    assert.equal(lines.filter((l) => l.msg === "run started").length, 1);
    await server.kill("SIGTERM");
  }
  // nothing of it reached the KV file either
  await using again = await spawnServer(kv.path);
  const runs = await call(again, "GET", "/v1/runs");
  assert.equal((runs.body?.runs as unknown[]).length, 1);
});

Deno.test("SWITCHBOARD_WARMUP takes 0 to turn it off and refuses a bad value", () => {
  const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });
  assert.equal(readConfig(env({})).warmupRounds, 3000);
  assert.equal(readConfig(env({ SWITCHBOARD_WARMUP: "0" })).warmupRounds, 0);
  assert.throws(() => readConfig(env({ SWITCHBOARD_WARMUP: "many" })), /SWITCHBOARD_WARMUP/);
  assert.throws(() => readConfig(env({ SWITCHBOARD_WARMUP: "-1" })), /SWITCHBOARD_WARMUP/);
});
