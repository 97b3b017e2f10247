/**
 * A run's history had no bound in bytes, only in steps (10,000): each step keeps
 * its prompt, its output and their events until the run is deleted, so one
 * `POST /v1/tasks` of a loop whose step carries 1 MB in and out held ~1.3 MB per
 * step (measured: 1,500 steps, 1.58 GB RSS and 184 s of CPU; 10,000 steps of
 * 4 MiB would be tens of GB). Now the inputs and outputs of a run's steps and
 * asks together are bounded (SWITCHBOARD_RUN_MAX_HISTORY_BYTES, 256 MiB).
 *
 * @module
 */
import assert from "node:assert/strict";
import { postInline } from "./_big_runs.ts";
import { startServer } from "../_helpers.ts";

Deno.test("a loop of 1 MB steps fails at the run's history budget, and the server goes on", async () => {
  await using server = await startServer();
  const loop = {
    id: "loop",
    agents: [{ name: "id", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: {
      kind: "loop",
      counter: "$.i",
      cond: "true",
      max: 200, // 200 passes of 2 MB: 400 MB
      body: { kind: "step", ref: "id", in: "$.x", out: "$.y" },
    },
  };
  const res = await postInline(
    server.base,
    "/v1/tasks",
    loop,
    { init_ctx: { x: "x".repeat(1_000_000) } },
    AbortSignal.timeout(60_000),
  );
  const body = await res.json();
  assert.ok(
    res.status >= 400 && res.status < 500,
    `${res.status} ${JSON.stringify(body).slice(0, 300)}`,
  );
  assert.match(body.error, /budget exceeded: .*SWITCHBOARD_RUN_MAX_HISTORY_BYTES/);
  assert.equal((await fetch(`${server.base}/v1/healthz`)).status, 200);
});
