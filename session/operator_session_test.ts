import assert from "node:assert/strict";
import type { RequestRecord } from "../store/seat_store.ts";
import { createMemorySeatStore } from "../store/seat_store.ts";
import { createLogger } from "../observe/log.ts";
import { createMetrics } from "../observe/metrics.ts";
import { OperatorSession } from "./operator_session.ts";

function request(n: number, runId: string, state: RequestRecord["state"] = "pending") {
  const reqId = `op-1-ask-${n}`;
  const record: RequestRecord = {
    req_id: reqId,
    sid: "op-1",
    kind: "ask",
    run_id: runId,
    task_id: `T-${n}`,
    attempt: 1,
    frame: { type: "ask", req_id: reqId, task_id: `T-${n}`, question: n },
    sent_at: 1000 + n,
    state,
  };
  if (state === "settled") record.reply = { type: "answer", req_id: reqId, value: n };
  return record;
}

/** A socket stand-in that records what the session sends. */
function fakeSocket() {
  const sent: unknown[] = [];
  const socket = {
    readyState: WebSocket.OPEN,
    send(text: string) {
      sent.push(JSON.parse(text));
    },
    close() {},
  };
  // `as`: the session only calls readyState, send and close.
  return { socket: socket as unknown as WebSocket, sent };
}

Deno.test("forgetRun cancels and drops only that run's waiting requests and replies", () => {
  const session = new OperatorSession(
    { sid: "op-1", tokenHash: "h", roles: [], createdAt: 0, lastSeenAt: 0 },
    {
      store: createMemorySeatStore(),
      log: createLogger({ level: "error" }),
      metrics: createMetrics(),
      publicUrl: "http://127.0.0.1:7777",
      now: () => 0,
    },
  );
  for (const r of [request(1, "run-a"), request(2, "run-b"), request(3, "run-a")]) {
    session.restore(r);
  }
  session.restore(request(4, "run-a", "settled"));
  session.restore(request(5, "run-b", "settled"));
  const { socket, sent } = fakeSocket();
  session.attach(socket);
  sent.length = 0;

  session.forgetRun("run-a");
  assert.deepEqual(sent, [
    { type: "cancel", req_id: "op-1-ask-1", reason: "run_ended" },
    { type: "cancel", req_id: "op-1-ask-3", reason: "run_ended" },
  ]);
  assert.deepEqual(session.pendingFrames().map((f) => f.req_id), ["op-1-ask-2"]);

  session.forgetRun("run-a");
  session.forgetRun("run-c");
  assert.equal(sent.length, 2);
  session.forgetRun("run-b");
  assert.equal(session.pendingCount, 0);
});

Deno.test("a spawn goes out as JSON text that parses to its frame, its directive in ASCII", async () => {
  const session = new OperatorSession(
    { sid: "op-1", tokenHash: "h", roles: [], createdAt: 0, lastSeenAt: 0 },
    {
      store: createMemorySeatStore(),
      log: createLogger({ level: "error" }),
      metrics: createMetrics(),
      publicUrl: "http://127.0.0.1:7777/",
      now: () => 0,
    },
  );
  const texts: string[] = [];
  const socket = {
    readyState: WebSocket.OPEN,
    send: (text: string) => texts.push(text),
    close() {},
  } as unknown as WebSocket;
  session.attach(socket);
  const controller = new AbortController();
  const result = session.execute(
    {
      runId: "run-1",
      taskId: "T-1",
      attempt: 1,
      agent: 'impl "é"',
      runtime: { project_name_alias: "proj—x" },
      operator: { kind: "main_ai", id: "http-run" },
      context: {
        run_id: "run-1",
        blueprint_id: "bp",
        blueprint_version: null,
        input: 'say "directive":"" — 😀',
      },
    },
    null,
    "",
    { capabilityToken: "cap", workerHandle: "wh-1" },
    controller.signal,
  );
  session.attach(socket); // a reconnect replays the pending spawn
  assert.equal(texts.length, 2);
  const [frame] = session.pendingFrames();
  assert.equal(frame.type, "spawn");
  assert.ok(frame.type === "spawn" && frame.directive.includes("[Data path endpoint — Main"));
  assert.ok(frame.type === "spawn" && frame.directive.includes("project_name_alias: proj—x"));
  for (const text of texts) {
    assert.deepEqual(JSON.parse(text), frame);
    assert.ok(text.includes("[Data path endpoint \\u2014 MainAgent reminder]"), text);
  }
  controller.abort(new Error("done"));
  await assert.rejects(result);
});
