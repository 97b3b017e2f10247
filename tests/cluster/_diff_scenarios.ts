/**
 * The scripted scenarios of tests/cluster/differential_test.ts: a Blueprint
 * and what its operator (and worker) do, run the same way on one server and on
 * a cluster.
 *
 * @module
 */
import assert from "node:assert/strict";
import { endedRun, type Mode, type Operator, type Side } from "./_observe.ts";

/** The role every scenario's seat holds. */
export const ROLE = "main-ai";

/** One operator agent behind the role. */
function operatorAgent(id: string, flow: unknown, extra: Record<string, unknown> = {}) {
  return {
    id,
    operators: [{ name: ROLE }],
    agents: [{ name: "impl", kind: "operator", spec: { operator_ref: ROLE } }],
    flow,
    ...extra,
  };
}

const SPAWN_STEP = { kind: "step", ref: "impl", in: "'do X'", out: "$.r" };

/** An identity step behind the main_ai layer: hook_before, then hook_after. */
const HOOKED_IDENTITY = {
  id: "diff-hooked",
  agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
  flow: { kind: "step", ref: "echo", in: "'hello'", out: "$.r" },
  spawner_hints: { layers: ["main_ai"] },
};
const HOOK_OPERATOR = { operator: { kind: "main_ai", spawn_hook_id: ROLE } };

/** What a scenario's script can do. */
export interface Stage {
  mode: Mode;
  op: Operator;
  /** The id of the run the script started. */
  runId(): string;
  /** Starts the run on the mode's run side (`POST /v1/runs`). */
  start(blueprint: unknown, extra?: Record<string, unknown>): Promise<void>;
  /** An HTTP call whose status (and JSON body) is part of the observation. */
  call(on: Side, path: string, init?: RequestInit): Promise<Record<string, unknown> | null>;
}

/** What one mode observed of one scenario, normalized. */
export interface Observation {
  frames: unknown;
  http: unknown;
  run: unknown;
  events: unknown;
}

export interface Scenario {
  name: string;
  script(stage: Stage): Promise<void>;
  /**
   * A difference the contract does not pin (README, "Running a cluster"):
   * checks what `mode` observed instead and returns it as single would have it.
   */
  unpinned?(mode: string, seen: Observation, single: Observation): Observation;
}

/** The scenarios, each deterministic on one server. */
export const SCENARIOS: Scenario[] = [
  {
    name: "an ask node answered",
    async script({ start, op }) {
      await start({
        id: "diff-ask",
        flow: { kind: "ask", to: ROLE, question: "'ship it?'", out: "$.verdict" },
      });
      const ask = await op.next("ask");
      op.send({ type: "answer", req_id: ask.req_id, value: "ship" });
    },
  },
  {
    name: "a hook_before approved, then its hook_after",
    async script({ start, op }) {
      await start(HOOKED_IDENTITY, HOOK_OPERATOR);
      const hb = await op.next("hook_before");
      op.send({ type: "hook_ack", req_id: hb.req_id, ok: true });
      await op.next("hook_after");
    },
  },
  {
    name: "a hook_before vetoed",
    async script({ start, op }) {
      await start(HOOKED_IDENTITY, HOOK_OPERATOR);
      const hb = await op.next("hook_before");
      op.send({ type: "hook_ack", req_id: hb.req_id, ok: false, reason: "not today" });
    },
  },
  {
    name: "a spawn acked with a value",
    async script({ start, op }) {
      await start(operatorAgent("diff-spawn", SPAWN_STEP));
      const spawn = await op.next("spawn");
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "done" });
    },
  },
  {
    name: "a spawn whose worker reads its prompt and submits its result on the other instance",
    async script({ start, op, call, mode }) {
      await start(operatorAgent("diff-worker", SPAWN_STEP));
      const spawn = await op.next("spawn");
      const auth = { authorization: `Bearer ${spawn.worker_handle}` };
      await call(mode.worker, `/v1/worker/prompt?task_id=${spawn.task_id}`, { headers: auth });
      await call(mode.worker, "/v1/worker/submit?ok=true", {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: "written by the worker",
      });
      await call(mode.worker, "/v1/worker/submit?ok=true", {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: "a second final",
      });
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
    },
  },
  {
    name: "a hook_after of a spawn approved with an edit",
    async script({ start, op }) {
      await start(
        operatorAgent("diff-after", SPAWN_STEP, { spawner_hints: { layers: ["main_ai"] } }),
        HOOK_OPERATOR,
      );
      const hb = await op.next("hook_before");
      op.send({ type: "hook_ack", req_id: hb.req_id, ok: true, input: "do Y" });
      const spawn = await op.next("spawn");
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: { did: "Y" } });
      await op.next("hook_after");
    },
  },
  {
    name: "a run cancelled with DELETE /v1/runs/:id while its spawn is pending",
    async script({ start, op, call, mode, runId }) {
      await start(operatorAgent("diff-delete", SPAWN_STEP));
      await op.next("spawn");
      await call(mode.seat, `/v1/runs/${runId()}`, { method: "DELETE" });
      await op.next("cancel");
    },
  },
  {
    name: "a run whose TTL expires while its spawn is pending",
    async script({ start, op }) {
      await start(operatorAgent("diff-ttl", SPAWN_STEP), { ttl_secs: 1 });
      await op.next("spawn");
      await op.next("cancel");
    },
  },
  {
    name: "a fanout whose one branch fails while the other waits on the operator",
    async script({ start }) {
      await start(operatorAgent("diff-fanout", {
        kind: "fanout",
        items: "[true, 1]",
        bind: "$.item",
        join: "all",
        out: "$.out",
        body: {
          kind: "branch",
          cond: "$.item",
          then: SPAWN_STEP,
          else: { kind: "assign", at: "$.r", value: "'no'" },
        },
      }));
    },
    // the spawn is given up before the run's next write: a socket on another instance
    // never hears of it (neither the frame nor its cancel); its events say sent, cancelled
    unpinned(mode, seen, single) {
      if (mode !== "cross") return seen;
      assert.deepEqual(seen.frames, [[]], "nothing, or what single got");
      return { ...seen, frames: single.frames };
    },
  },
  {
    name: "an ask node with an answer schema: a refused answer, then a valid one",
    async script({ start, op }) {
      await start({
        id: "diff-schema",
        flow: {
          kind: "ask",
          to: ROLE,
          question: "'ship it?'",
          schema: { type: "string", enum: ["ship", "hold"] },
          out: "$.verdict",
        },
      });
      const ask = await op.next("ask");
      op.send({ type: "answer", req_id: ask.req_id, value: "maybe" });
      await op.next("error");
      op.send({ type: "answer", req_id: ask.req_id, value: "hold" });
    },
  },
  {
    name: "a second reply to a settled request, while its run goes on and after it ended",
    async script({ start, op, mode, runId }) {
      await start(operatorAgent("diff-twice", {
        kind: "seq",
        children: [{ kind: "ask", to: ROLE, question: "'which?'", out: "$.which" }, SPAWN_STEP],
      }));
      const ask = await op.next("ask");
      op.send({ type: "answer", req_id: ask.req_id, value: "first" });
      const spawn = await op.next("spawn");
      op.send({ type: "answer", req_id: ask.req_id, value: "again" });
      await op.next("error");
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "once" });
      await endedRun(mode.run, runId());
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "twice" });
      await op.next("error");
    },
  },
  {
    name: "a reply sent on a new socket at once, while the seat reconnects elsewhere",
    async script({ start, op, mode }) {
      await start(operatorAgent("diff-reconnect", SPAWN_STEP));
      const spawn = await op.next("spawn");
      await op.close();
      await op.connect(mode.away);
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "held" });
    },
    // the new instance may learn of the request (its row, written when the socket left
    // the run's instance) after it settled it with the reply: no replay, nothing else
    unpinned(_mode, seen, single) {
      // `as`: frames are the normalized lists of each socket's frames
      const [first, next] = seen.frames as unknown[][];
      if (next?.length !== 0) return seen;
      return { ...seen, frames: [first, (single.frames as unknown[][])[1]] };
    },
  },
  {
    name: "a reply held while a new socket replaces the old one",
    async script({ start, op, mode }) {
      await start(operatorAgent("diff-replace", SPAWN_STEP));
      const spawn = await op.next("spawn");
      await op.connect(mode.away); // the old socket is closed 4000 by the server
      await op.next("spawn"); // the replay
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "replayed" });
    },
  },
  {
    name: "a seat deleted on the other instance while its spawn is pending",
    async script({ start, op, call, mode }) {
      await start(operatorAgent("diff-seat-gone", SPAWN_STEP));
      await op.next("spawn");
      await call(mode.away, `/v1/operators/${op.sid}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${op.token}` },
      });
      await op.next("#closed");
    },
  },
  {
    name: "a seat deleted on its run's instance while its ask is pending",
    async script({ start, op, call, mode }) {
      await start({
        id: "diff-seat-gone-here",
        flow: { kind: "ask", to: ROLE, question: "'ship it?'", out: "$.verdict" },
      });
      await op.next("ask");
      await call(mode.run, `/v1/operators/${op.sid}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${op.token}` },
      });
      await op.next("#closed");
    },
  },
  {
    name: "a run started while its seat is offline, served once the seat connects elsewhere",
    async script({ start, op, mode }) {
      await op.close();
      await start(operatorAgent("diff-offline", SPAWN_STEP));
      await op.connect(mode.away);
      const spawn = await op.next("spawn");
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "late" });
    },
  },
  {
    name: "an ask node whose timeout gives its default",
    async script({ start, op }) {
      await start({
        id: "diff-ask-timeout",
        flow: {
          kind: "ask",
          to: ROLE,
          question: "'ship it?'",
          timeout_secs: 1,
          on_timeout: { kind: "default", value: "hold" },
          out: "$.verdict",
        },
      });
      await op.next("ask");
      await op.next("cancel");
    },
  },
  {
    name: "a worker's ok=false put to the senior bridge, answered",
    async script({ start, op, call, mode }) {
      await start(
        operatorAgent("diff-senior", SPAWN_STEP, {
          spawner_hints: { layers: ["senior_escalation"] },
        }),
        { operator: { kind: "main_ai", senior_bridge_id: ROLE } },
      );
      const spawn = await op.next("spawn");
      await call(mode.worker, "/v1/worker/submit?ok=false", {
        method: "POST",
        headers: { authorization: `Bearer ${spawn.worker_handle}`, "content-type": "text/plain" },
        body: "stuck",
      });
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
      const ask = await op.next("ask");
      op.send({ type: "answer", req_id: ask.req_id, value: { use: "v2" } });
    },
  },
  {
    name: "a reply of the wrong kind refused, then a spawn_ack that fails the step",
    async script({ start, op, call, mode }) {
      await start(operatorAgent("diff-refuse", SPAWN_STEP));
      const spawn = await op.next("spawn");
      await call(mode.seat, `/v1/operators/${op.sid}/pending`, {
        headers: { authorization: `Bearer ${op.token}` },
      });
      op.send({ type: "answer", req_id: spawn.req_id, value: "not an ack" });
      await op.next("error");
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: false, error: "cannot" });
    },
  },
  {
    name: "a nested ask of the worker, answered while it waits",
    async script({ start, op, call, mode }) {
      await start(operatorAgent("diff-nested", SPAWN_STEP));
      const spawn = await op.next("spawn");
      const asking = call(mode.worker, "/v1/worker/ask", {
        method: "POST",
        headers: {
          authorization: `Bearer ${spawn.worker_handle}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ question: "which branch?", wait_secs: 10 }),
      });
      const ask = await op.next("ask");
      op.send({ type: "answer", req_id: ask.req_id, value: "main" });
      await asking;
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "merged" });
    },
  },
  {
    name: "a nested ask left unanswered, cancelled when its spawn is acked",
    async script({ start, op, call, mode }) {
      await start(operatorAgent("diff-nested-cancel", SPAWN_STEP));
      const spawn = await op.next("spawn");
      const auth = { authorization: `Bearer ${spawn.worker_handle}` };
      const asked = await call(mode.worker, "/v1/worker/ask", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ question: "still there?", wait_secs: 0 }),
      });
      await op.next("ask");
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "alone" });
      await op.next("cancel");
      await call(mode.run, `/v1/worker/ask/${asked?.req_id}`, { headers: auth });
    },
  },
];
