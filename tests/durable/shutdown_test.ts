/**
 * A drain as `deno task start` runs it (SPEC §1, README "Durable runs"): SIGTERM
 * answers the request still running, ends the event streams, closes operator
 * sockets with 1001 and exits 0, without waiting out the drain's bound for a
 * stream that would never end by itself.
 */
import assert from "node:assert/strict";
import { DRAIN_MS } from "../../boot.ts";
import { openSocket } from "../_helpers.ts";
import { nextOf, operatorAgentBlueprint } from "../engine/_loop.ts";
import { call, spawnServer, tempKv } from "./_child.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("SIGTERM answers a /v1/tasks still running, ends event streams, closes sockets 1001 and exits 0", async () => {
  // a webhook worker that takes 1.5 s: the /v1/tasks below is in flight at the signal
  const called = Promise.withResolvers<void>();
  const hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    called.resolve();
    await sleep(1_500);
    return Response.json({ value: "slow" });
  });
  await using kvFile = await tempKv();
  await using server = await spawnServer(kvFile.path, {
    env: {
      SWITCHBOARD_WEBHOOKS: JSON.stringify({
        slow: { url: `http://127.0.0.1:${hook.addr.port}/` },
      }),
    },
  });
  try {
    // a run parked on a spawn, watched by an event stream
    const { sid, token } = (await call(server, "POST", "/v1/operators", { roles: ["main-ai"] }))
      .body as { sid: string; token: string };
    const ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
    const parked = await call(server, "POST", "/v1/runs", {
      blueprint: { kind: "inline", value: operatorAgentBlueprint() },
      init_ctx: {},
    });
    assert.equal(parked.status, 202);
    await nextOf(ws, "spawn");
    const events = await fetch(`${server.base}/v1/runs/${parked.body!.run_id}/events`);
    assert.equal(events.status, 200);
    const stream = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await stream.read()).value ?? "", /run_started/);

    const task = fetch(`${server.base}/v1/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        blueprint: {
          kind: "inline",
          value: {
            id: "slow",
            agents: [{ name: "w", kind: "rust_fn", spec: { fn_id: "slow" } }],
            flow: { kind: "step", ref: "w", in: "'go'", out: "$.r" },
          },
        },
        init_ctx: {},
      }),
    });
    await called.promise;
    const signalled = performance.now();
    const exited = server.kill("SIGTERM");

    const answered = await task;
    assert.equal(answered.status, 200, "the request in flight is answered");
    assert.deepEqual((await answered.json()).final_ctx, { r: "slow" });
    while (!(await stream.read()).done) { /* the stream ends */ }
    assert.equal((await ws.closed).code, 1001);
    assert.equal((await exited).code, 0, server.stderr());
    const took = performance.now() - signalled;
    assert.ok(took < DRAIN_MS - 1_000, `the open event stream held the exit for ${took} ms`);
  } finally {
    await hook.shutdown();
  }
});
