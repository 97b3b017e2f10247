import assert from "node:assert/strict";
import { createHubNotes, type HubNotesOptions } from "./cluster_hub_notes.ts";
import { createPendingView, createWaiters } from "./cluster_pending.ts";
import type { RequestRow } from "../store/pg_requests.ts";
import type { CancelReason } from "../protocol/frames.ts";
import type { HubSeat } from "./hub_seat.ts";

const row = (reqId: string, kind: "spawn" | "ask", parent?: string): RequestRow => ({
  req_id: reqId,
  sid: "op-1",
  kind,
  run_id: "run-1",
  task_id: "T-1",
  attempt: 1,
  state: "pending",
  sent_at: 1,
  frame: kind === "spawn"
    ? {
      type: "spawn",
      req_id: reqId,
      task_id: "T-1",
      agent: "impl",
      attempt: 1,
      capability_token: "t",
      directive: "d",
    }
    : {
      type: "ask",
      req_id: reqId,
      task_id: "T-1",
      question: "q?",
      ...(parent ? { parent_req_id: parent } : {}),
    },
});

Deno.test("a run's end cancels a nested ask whose spawn already ended with parent_ended, the rest with run_ended", () => {
  const cancels: Array<[string, CancelReason]> = [];
  const seat = {
    sid: "op-1",
    lastSeenAt: 0,
    holdsSocket: true,
    delivered() {},
    cancelled: (reqId: string, reason: CancelReason) => void cancels.push([reqId, reason]),
    requestEnded() {},
    socketMoved() {},
  } satisfies HubSeat;
  const pending = createPendingView();
  // the run's end is read here before the nested ask's own cancel: the spawn it belongs
  // to has been answered (no longer pending), the other spawn has not
  pending.keep(row("op-1-ask-a", "ask", "op-1-spawn-answered"));
  pending.keep(row("op-1-spawn-open", "spawn"));
  pending.keep(row("op-1-ask-b", "ask", "op-1-spawn-open"));
  pending.keep(row("op-1-ask-top", "ask"));
  const notes = createHubNotes({
    pending,
    waiters: createWaiters(),
    instanceId: "i-a",
    seats: () => ({ get: () => seat, add() {}, remove() {}, sids: () => ["op-1"] }),
    unwritten: () => [],
  } as unknown as HubNotesOptions); // the run's end reads no table and no bus
  notes.runEnded("run-1");
  assert.deepEqual(cancels.sort(), [
    ["op-1-ask-a", "parent_ended"],
    ["op-1-ask-b", "run_ended"],
    ["op-1-ask-top", "run_ended"],
    ["op-1-spawn-open", "run_ended"],
  ]);
  assert.deepEqual(pending.ofRun("run-1"), []);
});
