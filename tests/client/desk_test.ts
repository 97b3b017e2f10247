/**
 * The client's operator's-desk fields: `onAsk` gets the context and schema,
 * `approve` carries edits, `worker.ask()` asks the spawn's operator, the audit
 * names the client, and `mintSeat` mints scoped and `release_on_close` seats.
 */
import assert from "node:assert/strict";
import {
  CLIENT_NAME,
  connectOperator,
  createRestClient,
  getRun,
  inbox,
  isSwitchboardError,
  mintSeat,
  startRun,
  waitRun,
  workerFromSpawn,
} from "../../client/mod.ts";
import type { FrameContext, Issue, Json } from "../../client/mod.ts";
import { startServer, until } from "../_helpers.ts";
import { spawningRun } from "./_fixtures.ts";

Deno.test("onAsk receives the context and schema; the audit names the client", async () => {
  await using server = await startServer();
  const url = server.base;
  const seat = await mintSeat({ url, roles: ["reviewer"], release_on_close: true, grace_secs: 0 });
  const seen: Array<{ context?: FrameContext; schema?: Record<string, Json> }> = [];
  const op = await connectOperator({ url, ...seat, heartbeatMs: 0 });
  op.onAsk((frame, { context, schema }) => {
    assert.deepEqual(frame.context, context);
    seen.push({ context, schema });
    return { decision: "ship" };
  });
  const schema = {
    type: "object",
    required: ["decision"],
    properties: { decision: { type: "string", title: "Decision" } },
  };
  const { run_id } = await startRun({
    url,
    body: {
      blueprint: {
        kind: "inline",
        value: {
          id: "client-desk",
          flow: { kind: "ask", to: "reviewer", question: "'ship?'", schema, out: "$.review" },
        },
      },
      init_ctx: {},
    },
  });
  const run = await waitRun({ url, runId: run_id });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { review: { decision: "ship" } });
  assert.deepEqual(seen, [{
    context: {
      run_id,
      blueprint_id: "client-desk",
      blueprint_version: null,
      attempt: 1,
      step: "/",
    },
    schema,
  }]);
  const view = await getRun({ url, runId: run_id });
  assert.equal(view.requests?.[0].by?.client, CLIENT_NAME);
  assert.deepEqual((await inbox({ url })).items, []);
  await op.close();
  // release_on_close: the seat goes away once the client is gone
  await until(() => !server.deps.sessions.has(seat.sid));
});

Deno.test("answer() rejects a refused answer with the server's issues; the ask stays to answer again", async () => {
  await using server = await startServer();
  const url = server.base;
  const seat = await mintSeat({ url, roles: ["reviewer"] });
  await using op = await connectOperator({ url, ...seat, heartbeatMs: 0 });
  const schema = {
    type: "object",
    required: ["decision"],
    properties: { decision: { type: "string", enum: ["ship", "hold"] } },
  };
  const { run_id } = await startRun({
    url,
    body: {
      blueprint: {
        kind: "inline",
        value: {
          id: "client-refused",
          flow: { kind: "ask", to: "reviewer", question: "'ship?'", schema, out: "$.review" },
        },
      },
      init_ctx: {},
    },
  });
  await until(() => op.pending().length === 1);
  const reqId = op.pending()[0].req_id;
  const refused = await op.answer(reqId, { decision: "maybe" }).then(
    () => assert.fail("the server accepted an answer its schema refuses"),
    (err: unknown) => err,
  );
  assert.ok(isSwitchboardError(refused, "bad_request"), String(refused));
  const issues: Issue[] | undefined = refused.extra?.issues as Issue[] | undefined; // the frame's list
  assert.deepEqual(issues, [{
    path: ["decision"],
    pointer: "/decision",
    message: "must be equal to one of the allowed values",
  }]);
  await op.answer(reqId, { decision: "hold" });
  const run = await waitRun({ url, runId: run_id });
  assert.deepEqual(run.final_ctx, { review: { decision: "hold" } });
});

Deno.test("approve() with edits replaces the input, and worker.ask() asks the spawn's operator", async () => {
  await using server = await startServer();
  const url = server.base;
  const seat = await mintSeat({ url, roles: ["doer"] });
  await using op = await connectOperator({ url, ...seat, heartbeatMs: 0, client: "my-desk/0.1" });
  op.onHookBefore((frame) => ({ ok: true, input: `${frame.context?.input} (reviewed)` }));
  op.onAsk((frame) => `answer to ${frame.question} for ${frame.parent_req_id}`);
  let spawnReq = "";
  op.onSpawn(async (frame) => {
    spawnReq = frame.req_id;
    const w = workerFromSpawn(frame, { url });
    const prompt = (await w.prompt()).prompt;
    const answer = await w.ask("which way?", { waitSecs: 5 });
    return { value: { prompt, answer } };
  });
  const { run_id } = await startRun({ url, body: spawningRun("doer", "doer") });
  const run = await waitRun({ url, runId: run_id });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, {
    r: { prompt: "do X (reviewed)", answer: `answer to which way? for ${spawnReq}` },
  });
  const view = await getRun({ url, runId: run_id });
  const kinds = view.requests?.map((r) => [r.kind, r.state, r.by?.client]);
  assert.deepEqual(
    kinds,
    [
      ["hook_before", "settled", "my-desk/0.1"],
      ["spawn", "settled", "my-desk/0.1"],
      ["ask", "settled", "my-desk/0.1"],
    ],
  );
  assert.deepEqual(view.requests?.find((r) => r.kind === "hook_before")?.edits, {
    input: "do X (reviewed)",
  });
});

Deno.test("the REST client's inbox() lists a pending ask with its context", async () => {
  await using server = await startServer();
  const url = server.base;
  await mintSeat({ url, roles: ["reviewer"] });
  const { run_id } = await startRun({
    url,
    body: {
      blueprint: {
        kind: "inline",
        value: { id: "inbox", flow: { kind: "ask", to: "reviewer", question: "'?'", out: "$.a" } },
      },
      init_ctx: {},
    },
  });
  const api = createRestClient({ url });
  await until(() => [...server.deps.sessions.values()].some((s) => s.pendingCount === 1));
  const { items } = await api.inbox({ query: { kind: "ask", role: "reviewer" } });
  assert.equal(items.length, 1);
  assert.equal(items[0].context?.run_id, run_id);
  assert.equal((await api.inbox({ query: { kind: "spawn" } })).items.length, 0);
  await api.cancelRun({ params: { id: run_id } });
});
