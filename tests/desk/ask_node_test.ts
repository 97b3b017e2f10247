/**
 * The `ask` flow node over a real server and real sockets: typed answers
 * (invalid ones refused with their issues), each timeout policy, and the audit
 * of who answered in the run view and its events.
 */
import assert from "node:assert/strict";
import type { AskFrame } from "../../protocol/frames.ts";
import { startServer } from "../_helpers.ts";
import { get, nextOf, post, runEnded, startRun } from "../engine/_loop.ts";
import { eventsOf, flowBlueprint, seatWith } from "./_desk.ts";

const SCHEMA = {
  type: "object",
  required: ["decision"],
  properties: {
    decision: { type: "string", enum: ["ship", "hold"], title: "Decision" },
    note: { type: "string", title: "Note" },
  },
};

function askFlow(extra: Record<string, unknown> = {}) {
  return {
    kind: "seq",
    children: [
      {
        kind: "ask",
        to: "reviewer",
        question: { op: "object", fields: { draft: "$.draft" } },
        schema: SCHEMA,
        out: "$.review",
        ...extra,
      },
      { kind: "assign", at: "$.decided", value: "$.review.decision" },
    ],
  };
}

Deno.test("an ask node sends its question, schema and context; an invalid answer is refused with its issues and the ask stays pending", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["reviewer"] });
  const runId = await startRun(server, {
    blueprint: flowBlueprint(askFlow()),
    init_ctx: { draft: "ship it?" },
  });
  const ask = await nextOf(op.ws, "ask");
  assert.deepEqual(ask.question, { draft: "ship it?" });
  assert.deepEqual(ask.schema, SCHEMA);
  assert.equal(ask.task_id, "ask/children/0");
  assert.deepEqual(ask.context, {
    run_id: runId,
    blueprint_id: "desk",
    blueprint_version: null,
    attempt: 1,
    step: "/children/0",
  });

  // a problem of the answer itself: zod's root path, []
  op.ws.send({ type: "answer", req_id: ask.req_id, value: { note: "hm" } });
  const missing = await nextOf(op.ws, "error");
  assert.equal(missing.req_id, ask.req_id);
  assert.deepEqual(missing.issues, [
    { path: ["decision"], pointer: "/decision", message: "must have required property 'decision'" },
  ]);
  // a problem of one field: its key
  op.ws.send({ type: "answer", req_id: ask.req_id, value: { decision: "maybe" } });
  const refused = await nextOf(op.ws, "error");
  assert.equal(refused.req_id, ask.req_id);
  assert.match(refused.error, /does not match the ask's schema/);
  assert.deepEqual(refused.issues, [
    {
      path: ["decision"],
      pointer: "/decision",
      message: "must be equal to one of the allowed values",
    },
  ]);
  const pending = await get(server, `/v1/operators/${op.sid}/pending`, {
    authorization: `Bearer ${op.token}`,
  });
  assert.deepEqual((pending.body!.pending as AskFrame[]).map((f) => f.req_id), [ask.req_id]);
  assert.deepEqual((pending.body!.pending as AskFrame[])[0].context?.run_id, runId);

  op.ws.send({ type: "answer", req_id: ask.req_id, value: { decision: "ship", note: "ok" } });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, {
    draft: "ship it?",
    review: { decision: "ship", note: "ok" },
    decided: "ship",
  });
  await op.ws.close();
});

Deno.test("the audit shows who answered an ask, in GET /v1/runs/:id and in the run's events", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["reviewer"] }, "desk-console/2.1");
  const runId = await startRun(server, {
    blueprint: flowBlueprint(askFlow()),
    init_ctx: { draft: "d" },
  });
  const ask = await nextOf(op.ws, "ask");
  op.ws.send({ type: "answer", req_id: ask.req_id, value: { decision: "hold" } });
  assert.equal((await runEnded(server, runId)).status, "succeeded");

  const view = (await get(server, `/v1/runs/${runId}`)).body!;
  const [request] = view.requests as Array<Record<string, unknown>>;
  assert.equal(request.req_id, ask.req_id);
  assert.equal(request.kind, "ask");
  assert.equal(request.state, "settled");
  assert.equal(request.role, "reviewer");
  assert.deepEqual(request.question, { draft: "d" });
  assert.deepEqual(request.by, { sid: op.sid, roles: ["reviewer"], client: "desk-console/2.1" });
  assert.deepEqual(request.value, { decision: "hold" });
  assert.equal(request.ok, true);
  assert.ok(Date.parse(request.at as string) >= Date.parse(request.sent_at as string));

  const events = await eventsOf(server, runId);
  const sent = events.find((e) => e.type === "operator_request_sent")!;
  assert.deepEqual(sent.data.question, { draft: "d" });
  assert.equal((sent.data.context as { run_id: string }).run_id, runId);
  const settled = events.find((e) => e.type === "operator_request_settled")!;
  assert.deepEqual(settled.data.by, {
    sid: op.sid,
    roles: ["reviewer"],
    client: "desk-console/2.1",
  });
  assert.deepEqual(settled.data.value, { decision: "hold" });
  assert.equal(settled.data.ok, true);
  await op.ws.close();
});

Deno.test("ask timeouts: fail fails the node, default takes the value, escalate cancels and asks the other role", async (t) => {
  await using server = await startServer();
  const first = await seatWith(server, { roles: ["reviewer"] });
  const lead = await seatWith(server, { roles: ["lead"] });

  await t.step("fail", async () => {
    const runId = await startRun(server, {
      blueprint: flowBlueprint(askFlow({ timeout_secs: 1, on_timeout: { kind: "fail" } })),
      init_ctx: { draft: 1 },
    });
    const ask = await nextOf(first.ws, "ask");
    const cancel = await nextOf(first.ws, "cancel");
    assert.deepEqual(cancel, { type: "cancel", req_id: ask.req_id, reason: "timeout" });
    const run = await runEnded(server, runId);
    assert.equal(run.status, "failed");
    assert.match(run.error!, /ask to 'reviewer': ask timed out after 1 s/);
  });

  await t.step("default", async () => {
    const runId = await startRun(server, {
      blueprint: flowBlueprint(askFlow({
        timeout_secs: 1,
        on_timeout: { kind: "default", value: { decision: "hold", note: "nobody answered" } },
      })),
      init_ctx: { draft: 2 },
    });
    const ask = await nextOf(first.ws, "ask");
    assert.equal((await nextOf(first.ws, "cancel")).req_id, ask.req_id);
    const run = await runEnded(server, runId);
    assert.equal(run.status, "succeeded", run.error);
    assert.deepEqual(run.final_ctx, {
      draft: 2,
      review: { decision: "hold", note: "nobody answered" },
      decided: "hold",
    });
  });

  await t.step("escalate", async () => {
    const runId = await startRun(server, {
      blueprint: flowBlueprint(askFlow({
        timeout_secs: 1,
        on_timeout: { kind: "escalate", to: "lead", timeout_secs: 30 },
      })),
      init_ctx: { draft: 3 },
    });
    const ask = await nextOf(first.ws, "ask");
    assert.deepEqual(await nextOf(first.ws, "cancel"), {
      type: "cancel",
      req_id: ask.req_id,
      reason: "timeout",
    });
    const escalated = await nextOf(lead.ws, "ask");
    assert.deepEqual(escalated.question, { draft: 3 });
    assert.deepEqual(escalated.schema, SCHEMA);
    assert.equal(escalated.context?.attempt, 2);
    lead.ws.send({ type: "answer", req_id: escalated.req_id, value: { decision: "ship" } });
    const run = await runEnded(server, runId);
    assert.equal(run.status, "succeeded", run.error);
    assert.deepEqual((run.final_ctx as { decided: string }).decided, "ship");
    const view = (await get(server, `/v1/runs/${runId}`)).body!;
    const states = (view.requests as Array<{ sid: string; state: string; reason?: string }>)
      .map((r) => [r.sid, r.state, r.reason]);
    assert.deepEqual(states, [[first.sid, "cancelled", "timeout"], [
      lead.sid,
      "settled",
      undefined,
    ]]);
  });

  await first.ws.close();
  await lead.ws.close();
});

Deno.test("an ask node whose `to` no seat holds fails the run with a clear error", async () => {
  await using server = await startServer();
  const res = await post(server, "/v1/tasks", {
    blueprint: flowBlueprint(askFlow({ to: "nobody" })),
    init_ctx: { draft: 1 },
  });
  assert.equal(res.status, 400);
  assert.match(res.body!.error as string, /ask to 'nobody': no operator seat holds 'nobody'/);
});

Deno.test("a pong after a typed answer comes once the answer is checked and settled", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["reviewer"] });
  // a check that takes a while: 3,000 items, each compared with the others
  const schema = { type: "array", uniqueItems: true, items: { type: "object" } };
  await startRun(server, {
    blueprint: flowBlueprint({
      kind: "ask",
      to: "reviewer",
      question: { op: "lit", value: "list" },
      schema,
      out: "$.l",
    }),
    init_ctx: {},
  });
  const ask = await nextOf(op.ws, "ask");
  // the check runs off the event loop; the ping right behind the answer waits for it
  const value = Array.from({ length: 3_000 }, (_, i) => ({ item: i }));
  op.ws.send({ type: "answer", req_id: ask.req_id, value });
  op.ws.send({ type: "ping" });
  await nextOf(op.ws, "pong");
  assert.equal(server.deps.sessions.get(op.sid)?.pendingCount, 0, "settled before the pong");
  await op.ws.close();
});
