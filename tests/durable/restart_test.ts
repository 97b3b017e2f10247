/**
 * Surviving a restart (SPEC §5 durability): the server runs as a child process,
 * is killed with SIGKILL while a run waits on its operator, and restarts on the
 * same KV file. The operator reconnects with its old token, gets the pending
 * frame replayed, answers once, and the run completes.
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { createKvRunStore } from "../../store/run_store_kv.ts";
import { openSocket, type TestSocket } from "../_helpers.ts";
import { call, eventually, readEvents, spawnServer, tempKv } from "./_child.ts";

/** Waits until the KV file holds a pending request of `kind` in the run's journal. */
async function storedPending(path: string, runId: string, kind: "ask" | "spawn") {
  using kv = await Deno.openKv(path);
  const runs = createKvRunStore(kv);
  await eventually(async () =>
    (await runs.listRequests(runId)).some((r) => r.kind === kind && r.state === "pending")
  );
}

async function nextOf<T extends ServerFrame["type"]>(ws: TestSocket, type: T) {
  while (true) {
    const frame = await ws.next({ signal: AbortSignal.timeout(20_000) });
    if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
  }
}

/** Frames the operator got that ask for work (a second one would mean answering twice). */
function requestsIn(frames: ServerFrame[]) {
  return frames.filter((f) => f.type === "ask" || f.type === "spawn" || f.type === "hook_before");
}

const THREE_STEPS = {
  id: "durable",
  operators: [{ name: "main-ai" }],
  agents: [
    { name: "first", kind: "rust_fn", spec: { fn_id: "identity" } },
    { name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } },
    { name: "last", kind: "rust_fn", spec: { fn_id: "identity" } },
  ],
  flow: {
    kind: "seq",
    children: [
      { kind: "step", ref: "first", in: "$.goal", out: "$.a" },
      { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
      { kind: "step", ref: "last", in: "$.r.done", out: "$.b" },
    ],
  },
};

Deno.test("SIGKILL during a pending spawn: restart, reconnect with the old token, replay, answer once, run completes", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const minted = await call(first, "POST", "/v1/operators", { roles: ["main-ai"] });
  assert.equal(minted.status, 200);
  const { sid, token } = minted.body as { sid: string; token: string };
  const ws1 = await openSocket(`${first.wsBase}/v1/operators/${sid}/ws`, { token });
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: { kind: "inline", value: THREE_STEPS },
    init_ctx: { goal: "ship it" },
  });
  assert.equal(started.status, 202);
  const runId = started.body!.run_id as string;
  const spawn = await nextOf(ws1, "spawn");
  assert.ok(spawn.directive.includes(`${first.base}/v1/worker/prompt`), "PORT=0: the real port");
  await storedPending(kvFile.path, runId, "spawn");
  const before = await readEvents(first, runId, { stopAfter: 5 });
  assert.deepEqual(before.map((e) => e.event), [
    "run_started",
    "step_started",
    "step_finished",
    "step_started",
    "operator_request_sent",
  ]);

  assert.equal((await first.kill("SIGKILL")).signal, "SIGKILL");
  assert.notEqual((await ws1.closed).code, 1001, "a killed server closes nothing cleanly");

  await using second = await spawnServer(kvFile.path);
  const waiting = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(waiting.body!.status, "running");
  const seatInfo = await call(second, "GET", `/v1/operators/${sid}`, undefined, {
    authorization: `Bearer ${token}`,
  });
  assert.equal(seatInfo.status, 200, "the seat survived with its token");

  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  const replayed = await nextOf(ws2, "spawn");
  assert.deepEqual(replayed, spawn, "the pending spawn is replayed unchanged");

  // The capability token minted before the restart still verifies.
  const auth = { authorization: `Bearer ${spawn.capability_token}` };
  const prompt = await call(
    second,
    "GET",
    `/v1/worker/prompt?task_id=${spawn.task_id}`,
    undefined,
    auth,
  );
  assert.equal(prompt.status, 200, JSON.stringify(prompt.body));
  assert.equal(prompt.body!.attempt, 1);
  const result = await call(second, "POST", "/v1/worker/result", {
    task_id: spawn.task_id,
    value: { done: "built" },
    ok: true,
  }, auth);
  assert.equal(result.status, 204, JSON.stringify(result.body));
  ws2.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });

  // A watcher of the first process resumes on the second with Last-Event-ID.
  const after = await readEvents(second, runId, { lastEventId: before.at(-1)!.id });
  assert.equal(after[0].event, "run_resumed");
  const events = await readEvents(second, runId);
  assert.deepEqual([...before, ...after], events, "no gap and no reused id across the restart");
  assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1));
  assert.equal(events.at(-1)?.event, "run_ended");
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, {
    goal: "ship it",
    a: { by: "baseline-identity", agent: "first", echoed: "ship it" },
    r: { done: "built" },
    b: { by: "baseline-identity", agent: "last", echoed: "built" },
  });
  const steps = run.body!.steps as Array<{ agent: string; attempt: number; verdict: string }>;
  assert.deepEqual(steps.map((s) => [s.agent, s.attempt, s.verdict]), [
    ["first", 1, "pass"],
    ["impl", 1, "pass"],
    ["last", 1, "pass"],
  ]);

  // A second ack is refused, and nothing was asked twice.
  ws2.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  const refused = await nextOf(ws2, "error");
  assert.equal(refused.req_id, spawn.req_id);
  assert.deepEqual(requestsIn(ws2.buffered()), []);
  const settled = events.filter((e) => e.event === "operator_request_settled");
  assert.deepEqual(settled.map((e) => e.data.data.req_id), [spawn.req_id]);
  const gone = await call(
    second,
    "GET",
    `/v1/worker/prompt?task_id=${spawn.task_id}`,
    undefined,
    auth,
  );
  assert.equal(gone.status, 410, "the token stops working once the run ended");

  // SIGTERM drains: sockets close with 1001 and the process exits 0.
  const status = await second.kill("SIGTERM");
  assert.equal((await ws2.closed).code, 1001);
  assert.equal(status.code, 0, second.stderr());
});

Deno.test("SIGKILL during a pending ask with a ctx over 64 KiB: the ask is replayed and the big ctx survives", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const { sid, token } = (await call(first, "POST", "/v1/operators", { roles: ["main-ai"] }))
    .body as { sid: string; token: string };
  const ws1 = await openSocket(`${first.wsBase}/v1/operators/${sid}/ws`, { token });
  const big = "x".repeat(100 * 1024);
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: {
      kind: "inline",
      value: {
        id: "ask",
        operators: [{ name: "main-ai" }],
        agents: [
          { name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } },
          { name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } },
        ],
        flow: {
          kind: "seq",
          children: [
            { kind: "step", ref: "echo", in: "$.big", out: "$.copy" },
            { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
          ],
        },
        spawner_hints: { layers: ["senior_escalation"] },
      },
    },
    init_ctx: { big },
    operator: { senior_bridge_id: sid },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const runId = started.body!.run_id as string;
  const spawn = await nextOf(ws1, "spawn");
  const auth = { authorization: `Bearer ${spawn.worker_handle}` };
  const submitted = await fetch(`${first.base}/v1/worker/submit?ok=false`, {
    method: "POST",
    headers: { ...auth, "content-type": "text/plain" },
    body: "stuck on the schema",
  });
  assert.equal(submitted.status, 204);
  ws1.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  const ask = await nextOf(ws1, "ask");
  await storedPending(kvFile.path, runId, "ask");
  {
    using kv = await Deno.openKv(kvFile.path);
    const stored = await createKvRunStore(kv).getRun(runId);
    assert.equal((stored?.ctx as { copy?: { echoed?: string } }).copy?.echoed, big);
  }
  await first.kill("SIGKILL");
  await ws1.closed;

  await using second = await spawnServer(kvFile.path);
  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  const replayed = await nextOf(ws2, "ask");
  assert.deepEqual(replayed, ask);
  ws2.send({ type: "answer", req_id: ask.req_id, value: { use: "v2 schema" } });
  const events = await readEvents(second, runId);
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, {
    big,
    copy: { by: "baseline-identity", agent: "echo", echoed: big },
    r: { original: "stuck on the schema", senior_answer: { use: "v2 schema" } },
  });
  assert.deepEqual(requestsIn(ws2.buffered()), [], "no request was sent again");
  const sent = events.filter((e) => e.event === "operator_request_sent").map((e) => e.data.data);
  assert.deepEqual(sent.map((d) => d.kind), ["spawn", "ask"], "each request was made once");
  await ws2.close();
});

Deno.test("SIGKILL during an in-process step: the step runs again as a new attempt", async () => {
  await using kvFile = await tempKv();
  const calls: number[] = [];
  const firstCall = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  await using hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    calls.push(body.attempt);
    if (calls.length === 1) {
      firstCall.resolve();
      await release.promise; // this server dies while the call hangs
      return new Response("late", { status: 500 });
    }
    return Response.json({ value: `done by attempt ${body.attempt}` });
  });
  const env = {
    SWITCHBOARD_WEBHOOKS: JSON.stringify({
      slow: { url: `http://127.0.0.1:${hook.addr.port}/`, timeout_ms: 60_000 },
    }),
  };
  const first = await spawnServer(kvFile.path, { env });
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: {
      kind: "inline",
      value: {
        id: "slow",
        agents: [{ name: "slow", kind: "rust_fn", spec: { fn_id: "slow" } }],
        flow: { kind: "step", ref: "slow", in: "'go'", out: "$.r" },
      },
    },
    init_ctx: {},
  });
  const runId = started.body!.run_id as string;
  await firstCall.promise;
  // The attempt's start is written behind the step: once a watcher sees it, it is durable.
  await readEvents(first, runId, { stopAfter: 2 });
  await first.kill("SIGKILL");
  release.resolve();

  await using second = await spawnServer(kvFile.path, { env });
  const events = await readEvents(second, runId);
  assert.deepEqual(
    events.filter((e) => e.event.startsWith("step_")).map((e) => [e.event, e.data.data.attempt]),
    [["step_started", 1], ["step_finished", 1], ["step_started", 2], ["step_finished", 2]],
  );
  const cut = events.find((e) => e.event === "step_finished")!.data.data;
  assert.equal(cut.error, "interrupted: the server stopped during this attempt");
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, { r: "done by attempt 2" });
  assert.deepEqual(calls, [1, 2]);
  const steps = run.body!.steps as Array<{ attempt: number; verdict: string }>;
  assert.deepEqual(steps.map((s) => [s.attempt, s.verdict]), [[1, "failed"], [2, "pass"]]);
});

Deno.test("SIGKILL during a callback worker: the interrupted attempt's credentials get 409, the new attempt's complete it", async () => {
  await using kvFile = await tempKv();
  const bodies: Array<Record<string, string | number>> = [];
  const called = [Promise.withResolvers<void>(), Promise.withResolvers<void>()];
  await using hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    bodies.push(await req.json());
    called[bodies.length - 1]?.resolve();
    return new Response(null, { status: 202 }); // "I will post back"
  });
  const env = {
    SWITCHBOARD_WEBHOOKS: JSON.stringify({
      cb: { url: `http://127.0.0.1:${hook.addr.port}/`, mode: "callback", timeout_ms: 60_000 },
    }),
  };
  const first = await spawnServer(kvFile.path, { env });
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: {
      kind: "inline",
      value: {
        id: "cb",
        agents: [{ name: "cb", kind: "rust_fn", spec: { fn_id: "cb" } }],
        flow: { kind: "step", ref: "cb", in: "'go'", out: "$.r" },
      },
    },
    init_ctx: {},
  });
  const runId = started.body!.run_id as string;
  await called[0].promise;
  await readEvents(first, runId, { stopAfter: 2 }); // the attempt's start is durable
  await first.kill("SIGKILL");

  await using second = await spawnServer(kvFile.path, { env });
  await called[1].promise;
  const [old, current] = bodies;
  assert.deepEqual([old.attempt, current.attempt], [1, 2]);
  assert.equal(current.task_id, old.task_id);
  const bearer = (b: string | number) => ({ authorization: `Bearer ${b}` });
  const text = { "content-type": "text/plain" };
  // SPEC §5: a post for an attempt that is not the current one answers 409.
  const stale = [
    await call(second, "POST", "/v1/worker/result", {
      task_id: old.task_id,
      value: "late",
    }, bearer(old.capability_token)),
    await call(second, "POST", "/v1/worker/result", {
      task_id: old.task_id,
      value: "late",
      attempt: 2,
    }, bearer(old.capability_token)),
    await fetch(`${second.base}/v1/worker/submit`, {
      method: "POST",
      headers: { ...bearer(old.capability_token), ...text },
      body: "late",
    }).then(async (r) => ({ status: r.status, body: await r.json() })),
    await fetch(`${second.base}/v1/worker/submit`, {
      method: "POST",
      headers: { ...bearer(old.worker_handle), ...text },
      body: "late",
    }).then(async (r) => ({ status: r.status, body: await r.json() })),
  ];
  for (const res of stale) {
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(String(res.body!.error), /attempt 1 is not the current attempt 2/);
  }
  const posted = await call(second, "POST", "/v1/worker/result", {
    task_id: current.task_id,
    value: "done by attempt 2",
  }, bearer(current.capability_token));
  assert.equal(posted.status, 204, JSON.stringify(posted.body));
  await readEvents(second, runId);
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, { r: "done by attempt 2" });
});

Deno.test("SIGKILL during a pending hook_before: the gate is replayed and its approval lets the step run once", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const { sid, token } = (await call(first, "POST", "/v1/operators", { roles: [] }))
    .body as { sid: string; token: string };
  const ws1 = await openSocket(`${first.wsBase}/v1/operators/${sid}/ws`, { token });
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: {
      kind: "inline",
      value: {
        id: "gated",
        agents: [{ name: "impl", kind: "rust_fn", spec: { fn_id: "identity" } }],
        flow: { kind: "step", ref: "impl", in: "'gated work'", out: "$.r" },
        spawner_hints: { layers: ["main_ai"] },
      },
    },
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: sid },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const runId = started.body!.run_id as string;
  const gate = await nextOf(ws1, "hook_before");
  await eventually(async () => {
    using kv = await Deno.openKv(kvFile.path);
    return (await createKvRunStore(kv).listRequests(runId)).some((r) => r.req_id === gate.req_id);
  });
  await first.kill("SIGKILL");
  await ws1.closed;

  await using second = await spawnServer(kvFile.path);
  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  assert.deepEqual(await nextOf(ws2, "hook_before"), gate);
  ws2.send({ type: "hook_ack", req_id: gate.req_id, ok: true });
  await readEvents(second, runId);
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, {
    r: { by: "baseline-identity", agent: "impl", echoed: "gated work" },
  });
  assert.deepEqual(requestsIn(ws2.buffered()), []);
  await ws2.close();
});

Deno.test("SIGTERM with a pending spawn closes the socket with 1001, keeps the request, and a restart replays it", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const { sid, token } = (await call(first, "POST", "/v1/operators", { roles: ["main-ai"] }))
    .body as { sid: string; token: string };
  const ws1 = await openSocket(`${first.wsBase}/v1/operators/${sid}/ws`, { token });
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: { kind: "inline", value: THREE_STEPS },
    init_ctx: { goal: "drain" },
  });
  const runId = started.body!.run_id as string;
  const spawn = await nextOf(ws1, "spawn");
  const status = await first.kill("SIGTERM");
  assert.equal((await ws1.closed).code, 1001);
  assert.equal(status.code, 0, first.stderr());
  assert.match(first.stderr(), /"msg":"shutting down"/);

  await using second = await spawnServer(kvFile.path);
  assert.equal((await call(second, "GET", `/v1/runs/${runId}`)).body!.status, "running");
  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  assert.deepEqual(await nextOf(ws2, "spawn"), spawn);
  ws2.send({ type: "spawn_ack", req_id: spawn.req_id, value: { done: "after drain" }, ok: true });
  await readEvents(second, runId);
  const run = await call(second, "GET", `/v1/runs/${runId}`);
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual((run.body!.final_ctx as Record<string, unknown>).r, { done: "after drain" });
  await ws2.close();
});

Deno.test("a second server on the same KV file refuses to start while the first is alive", async () => {
  await using kvFile = await tempKv();
  await using first = await spawnServer(kvFile.path);
  await assert.rejects(spawnServer(kvFile.path), /in use by another Switchboard process/);
  const health = await fetch(`${first.base}/v1/healthz`);
  assert.equal(await health.text(), "ok", "the first server goes on");
});
