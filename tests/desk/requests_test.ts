/**
 * Context on every request frame, approve with edits, spawn timeouts, the inbox
 * and its filters, and the two new metrics, over a real server and sockets.
 */
import assert from "node:assert/strict";
import type { RequestFrame } from "../../protocol/frames.ts";
import { startServer } from "../_helpers.ts";
import {
  fnBlueprint,
  get,
  nextOf,
  operatorAgentBlueprint,
  runEnded,
  startRun,
} from "../engine/_loop.ts";
import { connect, eventsOf, flowBlueprint, seatWith } from "./_desk.ts";
import { parsePrometheus } from "../../observe/parse_prometheus.ts";

const inline = (value: unknown) => ({ kind: "inline", value });

Deno.test("hook_before, hook_after and spawn carry the context, also in /pending and the replay", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["main-ai"] });
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint({
      spawner_hints: { layers: ["main_ai"] },
      flow: { kind: "step", ref: "impl", in: "$.goal", out: "$.r" },
    })),
    init_ctx: { goal: "write the release notes" },
    operator: { kind: "main_ai", spawn_hook_id: "main-ai" },
  });
  const context = {
    run_id: runId,
    blueprint_id: "loop",
    blueprint_version: null,
    agent: "impl",
    attempt: 1,
    step: "/",
    input: "write the release notes",
  };
  const hb = await nextOf(op.ws, "hook_before");
  assert.deepEqual(hb.context, context);
  // a new socket gets the pending frame again, context and all
  await op.ws.close();
  const again = await connect(server, op.sid, op.token);
  const replayed = await nextOf(again.ws, "hook_before");
  assert.deepEqual(replayed, hb);
  const pending = await get(server, `/v1/operators/${op.sid}/pending`, {
    authorization: `Bearer ${op.token}`,
  });
  assert.deepEqual((pending.body!.pending as RequestFrame[])[0], hb);

  again.ws.send({ type: "hook_ack", req_id: hb.req_id, ok: true });
  const spawn = await nextOf(again.ws, "spawn");
  assert.deepEqual(spawn.context, context);
  again.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "done" });
  const after = await nextOf(again.ws, "hook_after");
  assert.deepEqual(after.context, context);
  assert.equal((await runEnded(server, runId)).status, "succeeded");
  const events = await eventsOf(server, runId);
  const sentSpawn = events.find((e) =>
    e.type === "operator_request_sent" && e.data.kind === "spawn"
  )!;
  assert.deepEqual(sentSpawn.data.context, context);
  assert.equal(sentSpawn.data.prompt, "write the release notes");
  await again.ws.close();
});

Deno.test("a step input over 64 KiB reaches the context cut, with input_truncated", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["main-ai"] });
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint({
      flow: { kind: "step", ref: "impl", in: "$.big", out: "$.r" },
    })),
    init_ctx: { big: "é".repeat(40_000) },
  });
  const spawn = await nextOf(op.ws, "spawn");
  assert.equal(spawn.context?.input_truncated, true);
  assert.ok(new TextEncoder().encode(spawn.context!.input as string).length <= 65_536);
  assert.ok((spawn.context!.input as string).startsWith("éé"));
  await fetch(`${server.base}/v1/runs/${runId}`, { method: "DELETE" }).then((r) =>
    r.body?.cancel()
  );
  await runEnded(server, runId);
  await op.ws.close();
});

Deno.test("approve with edits: hook_ack input replaces the step's input, and the edit is recorded", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["gate"] });
  const runId = await startRun(server, {
    blueprint: inline(fnBlueprint("identity", {
      spawner_hints: { layers: ["main_ai"] },
      flow: { kind: "step", ref: "impl", in: "$.cmd", out: "$.r" },
    })),
    init_ctx: { cmd: "rm -rf /" },
    operator: { kind: "main_ai", spawn_hook_id: "gate" },
  });
  const hb = await nextOf(op.ws, "hook_before");
  assert.equal(hb.context?.input, "rm -rf /");
  op.ws.send({ type: "hook_ack", req_id: hb.req_id, ok: true, input: "rm -rf ./tmp" });
  const after = await nextOf(op.ws, "hook_after");
  assert.equal(after.context?.input, "rm -rf ./tmp");
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.equal((run.final_ctx as { r: { echoed: string } }).r.echoed, "rm -rf ./tmp");
  const view = (await get(server, `/v1/runs/${runId}`)).body!;
  const [request] = view.requests as Array<Record<string, unknown>>;
  assert.equal(request.kind, "hook_before");
  assert.equal(request.ok, true);
  assert.deepEqual(request.edits, { input: "rm -rf ./tmp" });
  assert.equal(request.prompt, "rm -rf /");
  await op.ws.close();
});

Deno.test("an operator agent's spec.timeout_secs bounds its spawn: cancel{timeout}, then 'spawn timed out after N s'", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["main-ai"] });
  const runId = await startRun(server, {
    blueprint: inline(operatorAgentBlueprint({
      agents: [{
        name: "impl",
        kind: "operator",
        spec: { operator_ref: "main-ai", timeout_secs: 1 },
      }],
    })),
    init_ctx: {},
  });
  const spawn = await nextOf(op.ws, "spawn");
  assert.deepEqual(await nextOf(op.ws, "cancel"), {
    type: "cancel",
    req_id: spawn.req_id,
    reason: "timeout",
  });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "failed");
  assert.match(run.error!, /spawn timed out after 1 s/);
  await op.ws.close();
});

Deno.test("GET /v1/inbox lists pending requests across seats, oldest first, with filters", async () => {
  let now = Date.parse("2026-12-06T04:00:00Z");
  await using server = await startServer({ now: () => now });
  const a = await seatWith(server, { roles: ["gate"] });
  const b = await seatWith(server, { roles: ["reviewer"] });
  const hookRun = await startRun(server, {
    blueprint: inline(fnBlueprint("identity", { spawner_hints: { layers: ["main_ai"] } })),
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: "gate" },
    ttl_secs: 600,
  });
  await nextOf(a.ws, "hook_before");
  now += 60_000;
  const askRun = await startRun(server, {
    blueprint: flowBlueprint({
      kind: "ask",
      to: "reviewer",
      question: "'ok?'",
      timeout_secs: 120,
      out: "$.a",
    }),
    init_ctx: {},
  });
  const ask = await nextOf(b.ws, "ask");
  now += 30_000;

  type Item = {
    req_id: string;
    kind: string;
    sid: string;
    roles: string[];
    role?: string;
    age_secs: number;
    deadline: string | null;
    sent_at: string;
    context?: { run_id: string };
  };
  const inbox = async (
    query = "",
  ) => ((await get(server, `/v1/inbox${query}`)).body!.items as Item[]);
  const all = await inbox();
  assert.deepEqual(all.map((i) => i.kind), ["hook_before", "ask"]);
  assert.equal(all[0].sid, a.sid);
  assert.deepEqual(all[0].roles, ["gate"]);
  assert.equal(all[0].age_secs, 90);
  assert.equal(all[0].deadline, "2026-12-06T04:10:00.000Z");
  assert.equal(all[0].context?.run_id, hookRun);
  assert.equal(all[1].req_id, ask.req_id);
  assert.equal(all[1].role, "reviewer");
  assert.equal(all[1].age_secs, 30);
  assert.equal(all[1].deadline, "2026-12-06T04:03:00.000Z");
  assert.equal(all[1].sent_at, "2026-12-06T04:01:00.000Z");

  assert.deepEqual((await inbox("?role=reviewer")).map((i) => i.kind), ["ask"]);
  assert.deepEqual((await inbox(`?run_id=${hookRun}`)).map((i) => i.kind), ["hook_before"]);
  assert.deepEqual((await inbox("?kind=ask")).map((i) => i.req_id), [ask.req_id]);
  assert.deepEqual((await inbox("?older_than_secs=60")).map((i) => i.kind), ["hook_before"]);
  assert.deepEqual((await inbox("?limit=1")).map((i) => i.kind), ["hook_before"]);
  assert.equal((await get(server, "/v1/inbox?kind=nope")).status, 400);

  // the metrics: the oldest pending age by role, then the wait once answered
  const metrics = async () =>
    parsePrometheus(await (await fetch(`${server.base}/v1/metrics`)).text());
  const before = await metrics();
  assert.equal(before.value("switchboard_oldest_pending_seconds", { role: "gate" }), 90);
  assert.equal(before.value("switchboard_oldest_pending_seconds", { role: "reviewer" }), 30);
  b.ws.send({ type: "answer", req_id: ask.req_id, value: true });
  await runEnded(server, askRun);
  const after = await metrics();
  const labels = { kind: "ask", role: "reviewer" };
  assert.equal(after.value("switchboard_request_wait_seconds_count", labels), 1);
  assert.equal(after.value("switchboard_request_wait_seconds_sum", labels), 30);
  assert.equal(after.value("switchboard_oldest_pending_seconds", { role: "reviewer" }), undefined);
  await fetch(`${server.base}/v1/runs/${hookRun}`, { method: "DELETE" }).then((r) =>
    r.body?.cancel()
  );
  await runEnded(server, hookRun);
  assert.deepEqual(await inbox(), []);
  await a.ws.close();
  await b.ws.close();
});
