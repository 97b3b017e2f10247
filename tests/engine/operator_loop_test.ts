/**
 * Operators in the loop, end to end: a real server, a real WebSocket operator,
 * and a sub-agent that only speaks HTTP with the credentials it was handed.
 */
import assert from "node:assert/strict";
import { encodeToken } from "../../engine/captoken.ts";
import type { SpawnFrame } from "../../protocol/frames.ts";
import { openSocket, startServer, type TestServer, until } from "../_helpers.ts";
import {
  firstSpawn,
  fnBlueprint,
  get,
  hooksFired,
  nextOf,
  operatorAgentBlueprint,
  post,
  runEnded,
  seat,
  startRun,
} from "./_loop.ts";

/** A sub-agent: it reads the directive and uses only HTTP with one bearer. */
function subAgent(server: TestServer, spawn: SpawnFrame, bearer: string) {
  const auth = { authorization: `Bearer ${bearer}` };
  return {
    prompt: () => get(server, `/v1/worker/prompt?task_id=${spawn.task_id}`, auth),
    result: (value: unknown, ok = true) =>
      post(server, "/v1/worker/result", { task_id: spawn.task_id, value, ok }, auth),
    async submit(text: string, ok = true) {
      const res = await fetch(`${server.base}/v1/worker/submit?ok=${ok}`, {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: text,
      });
      const body = await res.text();
      return { status: res.status, body: body ? JSON.parse(body) : null };
    },
  };
}

function inline(value: unknown) {
  return { kind: "inline", value };
}

Deno.test("the thin-control loop: spawn → prompt → result → spawn_ack → final_ctx", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint()),
    init_ctx: { goal: "ship" },
  });
  const spawn = await nextOf(op.ws, "spawn");
  assert.match(spawn.req_id, new RegExp(`^${op.sid}-spawn-[0-9a-f-]{36}$`));
  assert.equal(spawn.agent, "impl");
  assert.equal(spawn.attempt, 1);
  assert.match(spawn.worker_handle!, /^wh-[0-9a-f]{32}$/);
  assert.ok(
    spawn.directive.includes(`${server.base}/v1/worker/prompt?task_id=${spawn.task_id}`),
    spawn.directive,
  );

  const worker = subAgent(server, spawn, spawn.capability_token);
  const prompt = await worker.prompt();
  assert.equal(prompt.status, 200);
  assert.deepEqual(prompt.body, {
    task_id: spawn.task_id,
    attempt: 1,
    agent: "impl",
    prompt: "do X",
  });
  assert.equal((await worker.result({ shipped: true })).status, 204);
  const second = await worker.result({ shipped: false });
  assert.equal(second.status, 409, "a second final for the attempt is refused");
  assert.match(String(second.body!.error), /already posted/);

  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded");
  assert.deepEqual(run.final_ctx, { goal: "ship", r: { shipped: true } });
  assert.deepEqual(
    run.steps.map((s) => [s.agent, s.verdict, s.attempt]),
    [["impl", "pass", 1]],
  );

  const listed = await get(server, "/v1/runs");
  const runs = listed.body!.runs as Array<{ run_id: string; steps: unknown[] }>;
  assert.deepEqual(runs.find((r) => r.run_id === runId)?.steps, run.steps, "the list shows steps");

  const late = await worker.prompt();
  assert.equal(late.status, 410, "tokens stop working when the run ends");
  assert.equal(typeof late.body!.error, "string");
  await op.ws.close();
});

Deno.test("a wh- handle submits ok=false; the senior answer turns it into {original, senior_answer}", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint({ spawner_hints: { layers: ["senior_escalation"] } })),
    init_ctx: {},
    operator: { senior_bridge_id: op.sid },
  });
  const spawn = await nextOf(op.ws, "spawn");
  const worker = subAgent(server, spawn, spawn.worker_handle!);
  assert.equal((await worker.prompt()).status, 200);
  assert.equal((await worker.submit("stuck on the schema\n\n", false)).status, 204);
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });

  const ask = await nextOf(op.ws, "ask");
  assert.equal(ask.task_id, spawn.task_id);
  assert.match(ask.req_id, new RegExp(`^${op.sid}-ask-`));
  op.ws.send({ type: "answer", req_id: ask.req_id, value: { use: "v2 schema" } });

  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, {
    r: { original: "stuck on the schema", senior_answer: { use: "v2 schema" } },
  });
  assert.equal((await worker.prompt()).status, 410, "the handle expired with its task");
  await op.ws.close();
});

Deno.test("a senior answer with ok:false keeps the step blocked and names the answer", async () => {
  await using server = await startServer({
    functions: [["stuck", () => Promise.resolve({ value: "cannot", ok: false })]],
  });
  const op = await seat(server);
  const runId = await startRun(server, {
    blueprint: inline(fnBlueprint("stuck", { spawner_hints: { layers: ["senior_escalation"] } })),
    init_ctx: {},
    operator: { senior_bridge_id: op.sid },
  });
  const ask = await nextOf(op.ws, "ask");
  op.ws.send({ type: "answer", req_id: ask.req_id, value: { ok: false, why: "out of scope" } });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "failed");
  assert.match(run.error!, /blocked/);
  assert.match(run.error!, /out of scope/);
  await op.ws.close();
});

Deno.test("hook_before: a veto fails the step with the reference text; an approval runs it and hook_after reports", async () => {
  await using server = await startServer({
    functions: [["work", () => Promise.resolve({ value: { built: 1 }, ok: true })]],
  });
  const op = await seat(server);
  const body = {
    blueprint: inline(fnBlueprint("work", { spawner_hints: { layers: ["main_ai"] } })),
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: op.sid },
  };

  const vetoed = await startRun(server, body);
  const hb = await nextOf(op.ws, "hook_before");
  assert.equal(hb.agent, "impl");
  assert.equal(hb.attempt, 1);
  op.ws.send({ type: "hook_ack", req_id: hb.req_id, ok: false, reason: "not on a Friday" });
  const failed = await runEnded(server, vetoed);
  assert.equal(failed.status, "failed");
  assert.match(
    failed.error!,
    /dispatch failed: spawn rejected by middleware: not on a Friday/,
  );

  const approved = await startRun(server, body);
  const hb2 = await nextOf(op.ws, "hook_before");
  op.ws.send({ type: "hook_ack", req_id: hb2.req_id, ok: true });
  const after = await nextOf(op.ws, "hook_after");
  assert.equal(after.task_id, hb2.task_id);
  assert.deepEqual(after.result, { built: 1 });
  const run = await runEnded(server, approved);
  assert.equal(run.status, "succeeded");
  assert.deepEqual(run.final_ctx, { r: { built: 1 } });
  await op.ws.close();
});

Deno.test("an operator that drops mid-spawn gets the spawn replayed and the run still finishes", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint()),
    init_ctx: {},
  });
  const first = await nextOf(op.ws, "spawn");
  await op.ws.close();
  await until(() => server.deps.sessions.get(op.sid)?.connected === false);

  const again = await openSocket(`${server.wsBase}/v1/operators/${op.sid}/ws`, {
    token: op.token,
  });
  const replayed = await nextOf(again, "spawn");
  assert.deepEqual(replayed, first, "the frame is replayed unchanged");
  const worker = subAgent(server, replayed, replayed.capability_token);
  assert.equal((await worker.result("done after reconnect")).status, 204);
  again.send({ type: "spawn_ack", req_id: replayed.req_id, ok: true });

  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded");
  assert.deepEqual(run.final_ctx, { r: "done after reconnect" });
  assert.equal(run.steps.length, 1, "the step ran once");
  await again.close();
});

Deno.test("a TTL that passes during a spawn cancels it (timeout) and its token answers 410", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint()),
    init_ctx: {},
    ttl_secs: 1,
  });
  const spawn = await nextOf(op.ws, "spawn");
  const cancel = await nextOf(op.ws, "cancel");
  assert.deepEqual(cancel, { type: "cancel", req_id: spawn.req_id, reason: "timeout" });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "failed");
  assert.match(run.error!, /^ttl expired/);
  const late = await subAgent(server, spawn, spawn.capability_token).prompt();
  assert.equal(late.status, 410);
  assert.equal(typeof late.body!.error, "string");
  await op.ws.close();
});

Deno.test("/v1/tasks whose TTL passes during an ask answers 400 `ttl expired…` and cancels the ask", async () => {
  await using server = await startServer({
    functions: [["stuck", () => Promise.resolve({ value: "cannot", ok: false })]],
  });
  const op = await seat(server);
  const pending = post(server, "/v1/tasks", {
    blueprint: inline(fnBlueprint("stuck", { spawner_hints: { layers: ["senior_escalation"] } })),
    init_ctx: {},
    ttl_secs: 1,
    operator: { senior_bridge_id: op.sid },
  });
  const ask = await nextOf(op.ws, "ask");
  const cancel = await nextOf(op.ws, "cancel");
  assert.deepEqual(cancel, { type: "cancel", req_id: ask.req_id, reason: "timeout" });
  const res = await pending;
  assert.equal(res.status, 400);
  assert.match(String(res.body!.error), /^ttl expired/);

  op.ws.send({ type: "answer", req_id: ask.req_id, value: "too late" });
  const refused = await nextOf(op.ws, "error");
  assert.equal(refused.req_id, ask.req_id);
  await op.ws.close();
});

Deno.test("capability token failures answer 401, 403 and 410 with {error}", async () => {
  let clock = Date.now();
  await using server = await startServer({
    now: () => clock,
    config: { workerTokenMaxUses: 3 },
  });
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint()),
    init_ctx: {},
  });
  const spawn = await nextOf(op.ws, "spawn");
  const token = server.deps.tokens.decode(spawn.capability_token);
  const prompt = (bearer: string, taskId = spawn.task_id) =>
    get(server, `/v1/worker/prompt?task_id=${taskId}`, { authorization: `Bearer ${bearer}` });
  const expectError = async (
    res: Promise<{ status: number; body: Record<string, unknown> | null }>,
    status: number,
    text: RegExp,
  ) => {
    const { status: got, body } = await res;
    assert.equal(got, status, JSON.stringify(body));
    assert.match(String(body!.error), text);
  };

  const flipped = token.sig_hex.slice(0, -1) + (token.sig_hex.endsWith("0") ? "1" : "0");
  await expectError(
    prompt(encodeToken({ ...token, sig_hex: flipped })),
    401,
    /signature invalid/,
  );
  await expectError(
    prompt(encodeToken({ ...token, expire_at: token.expire_at + 3600 })),
    401,
    /signature invalid/,
  );
  const observer = await server.deps.tokens.mintSession("watcher", "observer", 600);
  await expectError(prompt(encodeToken(observer)), 403, /role violation/);
  await expectError(prompt(spawn.capability_token, "t-someone-else"), 403, /task mismatch/);

  // Uses: 3 allowed. The use count is checked before the task (0.1.2 order), so
  // the mismatched call above spent one; two good calls remain.
  assert.equal((await prompt(spawn.capability_token)).status, 200);
  assert.equal((await prompt(spawn.capability_token)).status, 200);
  await expectError(prompt(spawn.capability_token), 401, /uses exhausted/);

  clock += 3 * 3600 * 1000;
  await expectError(prompt(spawn.capability_token), 401, /token expired/);

  const cancelled = await fetch(`${server.base}/v1/runs/${runId}`, { method: "DELETE" });
  await cancelled.body?.cancel();
  assert.equal(cancelled.status, 200);
  clock -= 3 * 3600 * 1000;
  await expectError(prompt(spawn.worker_handle!), 410, /ended/);
  await op.ws.close();
});

Deno.test("the five operator-kind tiers decide whether hooks fire", async (t) => {
  await using server = await startServer();
  const lead = (kind?: string) => ({ operators: [{ name: "lead", ...(kind ? { kind } : {}) }] });
  const cases: Array<[string, Record<string, unknown>, object, number]> = [
    ["5. default is automate: no hook", {}, {}, 0],
    ["4. BP global main_ai fires", { default_operator_kind: "main_ai" }, {}, 1],
    [
      "3. BP per-agent automate beats BP global main_ai",
      { default_operator_kind: "main_ai", ...lead("automate") },
      {},
      0,
    ],
    ["3. BP per-agent composite fires", lead("composite"), {}, 1],
    [
      "2. runtime global automate beats BP per-agent main_ai",
      lead("main_ai"),
      { kind: "automate" },
      0,
    ],
    [
      "1. runtime per-agent main_ai beats runtime global automate",
      {},
      { kind: "automate", per_agent_kinds: { impl: "main_ai" } },
      1,
    ],
  ];
  for (const [name, bp, operator, expected] of cases) {
    await t.step(name, async () => {
      assert.equal(await hooksFired(server, bp, operator), expected);
    });
  }
});

Deno.test("operator_sid of a minted, never-connected seat is accepted; the spawn waits for it", async () => {
  await using server = await startServer();
  const minted = await server.mint();
  const runId = await startRun(server, {
    blueprint: inline(
      fnBlueprint("identity", { spawner_hints: { layers: ["operator_delegate"] } }),
    ),
    init_ctx: {},
    operator_sid: minted.sid,
  });
  const ws = await openSocket(`${server.wsBase}/v1/operators/${minted.sid}/ws`, {
    token: minted.token,
  });
  const spawn = await nextOf(ws, "spawn");
  ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: { from: "operator" } });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { from: "operator" } });
  await ws.close();
});

Deno.test("an unknown operator_sid answers 400 on /v1/tasks and /v1/runs", async () => {
  await using server = await startServer();
  for (const path of ["/v1/tasks", "/v1/runs"]) {
    const res = await post(server, path, {
      blueprint: { kind: "id", id: "main" },
      init_ctx: {},
      operator_sid: "op-nobody",
    });
    assert.equal(res.status, 400, path);
    assert.match(String(res.body!.error), /op-nobody/);
  }
  assert.equal(server.deps.engine.stats().live_runs, 0, "nothing was started");
});

Deno.test("data emits accept the worker handle and are read back by out_id and name", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint()),
    init_ctx: {},
  });
  const spawn = await nextOf(op.ws, "spawn");
  const emitted = await post(
    server,
    "/v1/data/emit",
    {
      task_id: spawn.task_id,
      attempt: 1,
      producer_agent: "report",
      event: { type: "artifact", name: "table", content: { kind: "inline", value: { rows: 3 } } },
    },
    { authorization: `Bearer ${spawn.worker_handle}` },
  );
  assert.equal(emitted.status, 200, JSON.stringify(emitted.body));
  const outId = String(emitted.body!.out_id);
  const byId = await get(server, `/v1/data/${outId}`);
  assert.equal(byId.status, 200, JSON.stringify(byId.body));
  assert.equal(byId.body!.producer_agent, "report");
  assert.deepEqual(byId.body!.event, {
    type: "artifact",
    name: "table",
    content: { kind: "inline", value: { rows: 3 } },
  });
  const byName = await get(server, "/v1/data/report");
  assert.equal(byName.status, 200, JSON.stringify(byName.body));
  assert.equal(byName.body!.id, outId);
  const forged = await post(
    server,
    "/v1/data/emit",
    {
      task_id: "t-other",
      attempt: 1,
      producer_agent: "x",
      event: { type: "progress", stage: "s" },
    },
    { authorization: `Bearer ${spawn.worker_handle}` },
  );
  assert.equal(forged.status, 403, JSON.stringify(forged.body));

  await subAgent(server, spawn, spawn.capability_token).result("ok");
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  assert.equal((await runEnded(server, runId)).status, "succeeded");
  await op.ws.close();
});

Deno.test("a data record reads back an omitted progress note, mime and size_hint as null (§11.3)", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await firstSpawn(server);
  const events = [
    [{ type: "progress", stage: "s" }, { type: "progress", stage: "s", note: null }],
    [
      { type: "partial", chunk: { kind: "file_ref", path: "/tmp/x" } },
      { type: "partial", chunk: { kind: "file_ref", path: "/tmp/x", mime: null, size_hint: null } },
    ],
  ];
  for (const [sent, stored] of events) {
    const emitted = await post(
      server,
      "/v1/data/emit",
      { task_id: spawn.task_id, attempt: 1, producer_agent: "notes", event: sent },
      { authorization: `Bearer ${spawn.worker_handle}` },
    );
    assert.equal(emitted.status, 200, JSON.stringify(emitted.body));
    const read = await get(server, `/v1/data/${emitted.body!.out_id}`);
    assert.deepEqual(read.body!.event, stored);
  }
  await subAgent(server, spawn, spawn.capability_token).result("ok");
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  assert.equal((await runEnded(server, runId)).status, "succeeded");
  await op.ws.close();
});
