/**
 * Values a client may put in a run's ctx are written to a KV store without ending
 * the server: sizing an array of 150,000 items once overflowed the stack inside the
 * KV write queue, an uncaught error that stopped the process.
 *
 * @module
 */
import assert from "node:assert/strict";
import { call, spawnServer, tempKv } from "../durable/_child.ts";

Deno.test("a run whose ctx holds an array of 200,000 items ends on a KV store, and the server stays up", async () => {
  await using kv = await tempKv();
  await using server = await spawnServer(kv.path);
  const items = Array.from({ length: 200_000 }, (_, i) => i % 10);
  const run = await call(server, "POST", "/v1/tasks", {
    blueprint: {
      kind: "inline",
      value: {
        id: "wide",
        agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
        flow: { kind: "step", ref: "echo", in: "len($.items)", out: "$.n" },
      },
    },
    init_ctx: { items },
  });
  assert.equal(run.status, 200, JSON.stringify(run.body).slice(0, 300));
  assert.equal((run.body?.final_ctx as { n: { echoed: string } }).n.echoed, "200000");
  // the store wrote it: the run is readable, and the server is alive
  const runs = await call(server, "GET", "/v1/runs?limit=1");
  assert.equal(runs.status, 200);
  const health = await fetch(`${server.base}/v1/healthz`);
  assert.equal(await health.text(), "ok");
});
