/**
 * Finding 1's crash loop: a run that was executing each time the server died is
 * resumed a bounded number of times, then failed as quarantined; the server
 * stays up. The "death" is a real SIGKILL of a child server while the run's
 * webhook step (to a loopback listener that never answers) is in flight.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTask, tempKvPath } from "./_task_start.ts";

Deno.test("a run executing through 3 server deaths is quarantined at the 3rd restart, and the server stays up", async () => {
  let calls = 0;
  let called = Promise.withResolvers<void>();
  const never = new AbortController();
  await using hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    calls++;
    called.resolve();
    await req.body?.cancel();
    // never answers: the step is executing when the server dies
    await new Promise((r) => never.signal.addEventListener("abort", r, { once: true }));
    return new Response("late");
  });
  await using kv = await tempKvPath();
  const env = {
    SWITCHBOARD_WEBHOOKS: JSON.stringify({
      hang: { url: `http://127.0.0.1:${hook.addr.port}/`, timeout_ms: 600_000 },
    }),
  };
  let runId = "";
  for (let life = 1; life <= 3; life++) {
    await using server = await startTask(kv.path, env);
    const base = await server.listening;
    if (life === 1) {
      const res = await fetch(`${base}/v1/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          blueprint: {
            kind: "inline",
            value: {
              id: "poison",
              agents: [{ name: "h", kind: "rust_fn", spec: { fn_id: "hang" } }],
              flow: { kind: "step", ref: "h", in: "'x'", out: "$.r" },
            },
          },
          init_ctx: {},
        }),
      });
      assert.equal(res.status, 202);
      runId = (await res.json()).run_id;
    }
    await called.promise; // the run is executing its step
    called = Promise.withResolvers<void>();
    server.signal("SIGKILL");
    await server.status;
  }
  await using server = await startTask(kv.path, env);
  const base = await server.listening;
  const run = await (await fetch(`${base}/v1/runs/${runId}`)).json();
  assert.equal(run.status, "failed");
  assert.equal(run.error, "quarantined: the server stopped 3 times while this run was executing");
  assert.equal(calls, 3, "resumed twice after the first start, then not again");
  assert.equal(await (await fetch(`${base}/v1/healthz`)).text(), "ok");
  never.abort();
});
