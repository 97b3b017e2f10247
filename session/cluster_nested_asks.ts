/**
 * Nested asks of a cluster seat (SPEC §10): the worker of a pending spawn asks
 * the seat that received it. The ask is a request of the spawn's run like any
 * other (a row opened through the hub by the run's owner, delivered by the
 * socket holder, settled once wherever the reply lands), with
 * `parent_req_id` set to the spawn's req_id and a slot of its own in the
 * run's dedupe keys. It is cancelled (`parent_ended`) when the spawn ends:
 * settled or cancelled anywhere (the hub says so), aborted by its run here,
 * or with its run.
 *
 * The worker routes of a run are answered by its owner (cluster/remote.ts
 * hands them over), so the owner opens, follows and cancels its nested asks.
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import type { CancelReason } from "../protocol/frames.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { RequestRow } from "../store/pg_requests.ts";
import type { ClusterHub } from "./cluster_hub.ts";
import type { ClusterRequests } from "./cluster_seat_requests.ts";
import { ParentEnded } from "./abort_outcome.ts";
import { RequestCancelled } from "./cluster_pending.ts";
import { createNestedSignals, nestedAskFace } from "./nested_signals.ts";
import { nestedAskFrame } from "./request_frames.ts";
import type { NestedAskOptions } from "./seat.ts";

/** The rejection of a nested ask that ended without an answer, for its `reason`. */
function cancelError(reason: CancelReason | undefined): Error {
  if (reason === "parent_ended") return new ParentEnded();
  if (reason === "timeout" || reason === "session_deleted") return new RequestCancelled(reason);
  return new Error(reason ?? "run_ended");
}

/** The nested asks of the seat `sid`, opened with its `requests`. */
export function clusterNestedAsks(sid: string, hub: ClusterHub, requests: ClusterRequests) {
  /** By the req_id of their spawn. */
  const children = createNestedSignals();

  /** A signal that aborts when the spawn `parent` ends. */
  const childOf = (parent: RequestRow) =>
    children.child(parent.req_id, {
      runId: parent.run_id,
      taskId: parent.task_id,
      attempt: parent.attempt,
    });

  /** The pending spawn `reqId` of this seat, as this instance knows it. */
  const spawnRow = (reqId: string) => {
    const row = hub.pendingRow(reqId);
    return row?.sid === sid && row.kind === "spawn" ? row : undefined;
  };

  const valueOf = (reply: { type: string; value?: Json }) =>
    reply.type === "answer" ? reply.value ?? null : null;

  return {
    /** The req_id of the pending spawn of an attempt of a run, if this seat holds one. */
    pendingSpawn(runId: string, taskId: string, attempt: number): string | undefined {
      for (const row of hub.pendingOf(sid)) {
        if (
          row.kind === "spawn" && row.run_id === runId && row.task_id === taskId &&
          row.attempt === attempt
        ) return row.req_id;
      }
      return undefined;
    },

    /** Asks this seat for the worker of the pending spawn `parentReqId`. */
    ask(
      parentReqId: string,
      question: Json,
      options: NestedAskOptions = {},
    ): { reqId: string; answer: Promise<Json> } {
      const parent = spawnRow(parentReqId);
      if (!parent) throw new SwitchboardError("conflict", "the spawn of this task is not pending");
      const child = childOf(parent);
      const face = nestedAskFace(parent, parentReqId, child.signal, options);
      let reqId = "";
      // the frame is built before the request's first await: its req_id is known at once
      const answer = requests.request("ask", parent.task_id, parent.attempt, face, (id) => {
        reqId = id;
        return nestedAskFrame(id, parent, parentReqId, question, options.schema);
      }).then(valueOf).finally(child.release);
      return { reqId, answer };
    },

    /**
     * Waits again for a pending nested ask of task `taskId` that nothing here
     * waits on (its run was taken over); undefined when `reqId` is no such ask
     * of this seat, or its spawn is no longer pending.
     */
    adopt(reqId: string, taskId: string): Promise<Json> | undefined {
      const row = hub.pendingRow(reqId);
      const frame = row?.frame;
      if (!row || row.sid !== sid || frame?.type !== "ask" || row.task_id !== taskId) return;
      const parent = frame.parent_req_id === undefined ? undefined : spawnRow(frame.parent_req_id);
      if (!parent) return undefined;
      const child = childOf(parent);
      return requests.follow(row, child.signal).then(valueOf).finally(child.release);
    },

    /**
     * A nested ask of task `taskId` of this seat that ended while nothing here
     * waited on it (answered while its run's owner was dead), as stored; a
     * pending one is followed as {@link adopt} does. Undefined when `reqId` is
     * no such ask.
     */
    async stored(reqId: string, taskId: string): Promise<{ answer: Promise<Json> } | undefined> {
      if (!reqId.startsWith(`${sid}-ask-`)) return undefined; // not a request of this seat
      const row = await hub.find(reqId);
      const frame = row?.frame;
      if (
        !row || row.sid !== sid || frame?.type !== "ask" || frame.parent_req_id === undefined ||
        row.task_id !== taskId
      ) return undefined;
      if (row.state === "pending") {
        const answer = this.adopt(reqId, taskId);
        return answer && { answer };
      }
      if (row.state === "settled" && row.reply) {
        return { answer: Promise.resolve(valueOf(row.reply)) };
      }
      const answer = Promise.reject(cancelError(row.cancel_reason));
      answer.catch(() => {}); // its poller reads the rejection
      return { answer };
    },

    /** A request of this seat is no longer pending (the hub's news). */
    requestEnded: children.end,

    /** The run waiting on a spawn of this seat gave it up. */
    spawnAborted(runId: string, taskId: string, attempt: number): void {
      children.endWhere((spawn) =>
        spawn.runId === runId && spawn.taskId === taskId && spawn.attempt === attempt
      );
    },

    /** A run has ended: the nested asks of its spawns end too. */
    runEnded(runId: string): void {
      children.endWhere((spawn) => spawn.runId === runId);
    },
  };
}
