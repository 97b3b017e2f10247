import assert from "node:assert/strict";
import { RunEnded } from "../engine/faces.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { RequestRecord } from "../protocol/runs.ts";
import { createLogger } from "../observe/log.ts";
import { createMetrics } from "../observe/metrics.ts";
import { createMemorySeatStore } from "../store/seat_store.ts";
import { askFrame } from "./request_frames.ts";
import { SeatRequests } from "./seat_requests.ts";
import { SocketSlot } from "./socket_slot.ts";

/** Requests of seat `op-1` over a slot holding a socket stand-in, with their journal. */
function setup() {
  const sent: Record<string, unknown>[] = [];
  const journal: RequestRecord[] = [];
  const slot = new SocketSlot();
  // `as`: the slot only calls readyState, send and close.
  slot.attach({
    readyState: WebSocket.OPEN,
    send: (text: string) => sent.push(JSON.parse(text)),
    close() {},
  } as unknown as WebSocket);
  const requests = new SeatRequests({ sid: "op-1", roles: ["reviewer"] }, {
    store: createMemorySeatStore(),
    log: createLogger({ level: "error" }),
    metrics: createMetrics(),
    publicUrl: "http://127.0.0.1:7777",
    now: () => 1_000,
    journal: { record: (r) => journal.push(r), durable: () => Promise.resolve() },
  }, slot);
  const ask = (signal?: AbortSignal) =>
    requests.request(
      "ask",
      "T-1",
      1,
      { runId: "run-1", signal },
      (reqId) => askFrame(reqId, "T-1", "ok?", {}),
    );
  return { requests, sent, journal, ask };
}

Deno.test("SeatRequests settles a request with its first reply and refuses a second", async () => {
  const { requests, sent, journal, ask } = setup();
  const reply = ask();
  const reqId = String(sent[0].req_id);
  assert.equal(sent[0].type, "ask");
  requests.settle({ type: "answer", req_id: reqId, value: "yes" }, "cli");
  assert.deepEqual(await reply, { type: "answer", req_id: reqId, value: "yes" });
  assert.deepEqual(journal.map((r) => r.state), ["pending", "settled"]);
  assert.deepEqual(journal[1].settled?.by, { sid: "op-1", roles: ["reviewer"], client: "cli" });
  assert.throws(
    () => requests.settle({ type: "answer", req_id: reqId, value: "again" }, "cli"),
    (err) => err instanceof SwitchboardError && err.code === "conflict",
  );
  assert.equal(requests.size, 0);
});

Deno.test("SeatRequests keeps a reply nothing waited on for the run's next call of that attempt", async () => {
  const { requests, sent, ask } = setup();
  requests.restore({
    req_id: "op-1-ask-1",
    sid: "op-1",
    kind: "ask",
    run_id: "run-1",
    task_id: "T-1",
    attempt: 1,
    frame: askFrame("op-1-ask-1", "T-1", "ok?", {}),
    sent_at: 0,
    state: "pending",
  });
  requests.settle({ type: "answer", req_id: "op-1-ask-1", value: 7 }, null);
  assert.deepEqual(await ask(), { type: "answer", req_id: "op-1-ask-1", value: 7 });
  assert.equal(sent.length, 0); // answered from the kept reply: no new frame
});

Deno.test("SeatRequests cancels a request whose wait aborts, with the abort's reason", async () => {
  const { requests, sent, journal, ask } = setup();
  const controller = new AbortController();
  const reply = ask(controller.signal);
  controller.abort(new RunEnded("timeout"));
  await assert.rejects(reply, /operator request timed out/);
  assert.deepEqual(sent[1], { type: "cancel", req_id: sent[0].req_id, reason: "timeout" });
  assert.deepEqual(journal.map((r) => [r.state, r.cancelled]), [
    ["pending", undefined],
    ["cancelled", "timeout"],
  ]);
  assert.equal(requests.size, 0);
});

Deno.test("SeatRequests closed fails what is pending and opens nothing more", async () => {
  const { requests, sent, ask } = setup();
  const reply = ask();
  requests.close("expired");
  await assert.rejects(reply, /operator session deleted \(idle expiry\)/);
  assert.deepEqual(sent[1], { type: "cancel", req_id: sent[0].req_id, reason: "session_deleted" });
  await assert.rejects(ask(), /operator session deleted/);
  assert.equal(sent.length, 2);
});
