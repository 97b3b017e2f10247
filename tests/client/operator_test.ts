import assert from "node:assert/strict";
import { RunEnded } from "../../engine/faces.ts";
import { connectOperator, getRun, startRun, type StateChange, waitRun } from "../../client/mod.ts";
import type { AskFrame, HookAfterFrame, OperatorClient } from "../../client/mod.ts";
import { ctxView as ctx, startServer, type TestServer, until } from "../_helpers.ts";
import { askingRun, serverWithNope, spawningRun } from "./_fixtures.ts";

const FAST = { backoff: { initialMs: 5, maxMs: 40 }, heartbeatMs: 0 };

async function seated(server: TestServer, roles: string[] = [], extra = {}) {
  const seat = await server.mint(roles);
  const op = await connectOperator({ url: server.base, ...seat, ...FAST, ...extra });
  const session = server.deps.sessions.get(seat.sid)!;
  await until(() => session.connected);
  return { seat, op, session };
}

/** Resolves with the first state change to `state`. */
function nextState(op: OperatorClient, state: StateChange["state"]): Promise<StateChange> {
  const { promise, resolve } = Promise.withResolvers<StateChange>();
  const off = op.onState((change) => {
    if (change.state !== state) return;
    off();
    resolve(change);
  });
  return promise;
}

Deno.test("onAsk answers a run's ask and the answer lands in final_ctx", async () => {
  await using server = await serverWithNope();
  const { seat, op } = await seated(server);
  const questions: AskFrame[] = [];
  op.onAsk((frame) => {
    questions.push(frame);
    return { approve: true };
  });
  const { run_id } = await startRun({ url: server.base, body: askingRun(seat.sid) });
  const run = await waitRun({ url: server.base, runId: run_id });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { original: "NO", senior_answer: { approve: true } } });
  assert.deepEqual(questions[0].question, { reason: "worker reported ok=false", value: "NO" });
  assert.deepEqual(op.pending(), []);
  await until(() => op.unsettled().length === 0, AbortSignal.timeout(2_000));
  await op.close();
  assert.equal(op.state, "closed");
});

Deno.test("onHookBefore approves, vetoes with a reason, and a throw vetoes with its message", async () => {
  await using server = await startServer();
  const { seat, op } = await seated(server);
  const hook = server.deps.spawnHooks.get(seat.sid)!;
  op.onHookBefore((frame) => {
    if (frame.task_id === "T-ok") return true;
    if (frame.task_id === "T-no") return { ok: false, reason: "not today" };
    throw new Error("handler broke");
  });
  const errors: string[] = [];
  op.onError((err) => errors.push(err.message));
  await hook.before(ctx("T-ok"));
  await assert.rejects(hook.before(ctx("T-no")), /not today/);
  await assert.rejects(hook.before(ctx("T-throw")), /handler broke/);
  assert.deepEqual(errors, ["handler broke"]);
  await op.close();
});

Deno.test("onHookAfter sees the result of a finished spawn, with its context as the others do", async () => {
  await using server = await startServer();
  const { seat, op } = await seated(server);
  const seen = Promise.withResolvers<[HookAfterFrame, unknown]>();
  op.onHookAfter((frame, { context }) => seen.resolve([frame, context]));
  await server.deps.spawnHooks.get(seat.sid)!.after(ctx("T-1"), { r: 1 });
  const [frame, context] = await seen.promise;
  assert.deepEqual([frame.task_id, frame.result], ["T-1", { r: 1 }]);
  assert.deepEqual(context, frame.context);
  await op.close();
});

Deno.test("onSpawn executes a run's step with hooks, and a throw fails the attempt", async () => {
  await using server = await startServer();
  const { seat, op } = await seated(server, ["doer"]);
  const order: string[] = [];
  op.onHookBefore((f) => {
    order.push(`before ${f.agent}`);
    return true;
  })
    .onSpawn((f) => {
      order.push(`spawn ${f.agent}`);
      return { value: { done: f.task_id } };
    })
    .onHookAfter((f, { context }) => {
      order.push(`after ${f.agent} of ${context?.run_id}`);
    });
  const { run_id } = await startRun({ url: server.base, body: spawningRun("doer", seat.sid) });
  const run = await waitRun({ url: server.base, runId: run_id });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { done: run.steps[0].task_id } });
  await until(() => order.length === 3);
  assert.deepEqual(order, ["before impl", "spawn impl", `after impl of ${run_id}`]);

  op.onSpawn(() => {
    throw new Error("no hands");
  }).onError(() => {});
  const failed = await startRun({ url: server.base, body: spawningRun("doer", seat.sid) });
  const run2 = await waitRun({ url: server.base, runId: failed.run_id });
  assert.equal(run2.status, "failed");
  assert.match(run2.error ?? "", /worker fn returned error: no hands/);
  await op.close();
});

Deno.test("onCancel hears a timeout and the handler's signal aborts", async () => {
  await using server = await startServer();
  const { seat, op } = await seated(server);
  const aborted = Promise.withResolvers<unknown>();
  const cancelled = Promise.withResolvers<string>();
  op.onAsk((_frame, { signal }) => {
    signal.addEventListener("abort", () => aborted.resolve(signal.reason), { once: true });
    return undefined; // answer later, by hand
  }).onCancel((frame) => cancelled.resolve(frame.reason));
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q", {
    signal: AbortSignal.timeout(50),
  });
  await assert.rejects(answer, /operator request timed out/);
  assert.equal(await cancelled.promise, "timeout");
  assert.match(String(await aborted.promise), /request cancelled: timeout/);
  assert.deepEqual(op.pending(), []);
  await op.close();
});

Deno.test("frames that arrive before a handler wait in pending() and reach it when it is set", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const bridge = server.deps.seniorBridges.get(seat.sid)!;
  const first = bridge.ask("T-1", "one");
  const second = bridge.ask("T-2", "two");
  const op = await connectOperator({ url: server.base, ...seat, ...FAST });
  await until(() => op.pending().length === 2);
  assert.deepEqual(op.pending().map((f) => f.task_id), ["T-1", "T-2"]);
  await op.answer(op.pending()[0].req_id, "by hand");
  assert.equal(await first, "by hand");
  op.onAsk((f) => `handler saw ${f.task_id}`);
  assert.equal(await second, "handler saw T-2");
  await assert.rejects(op.answer("op-x-ask-unknown", 1), /unknown or already settled/);
  await op.close();
});

Deno.test("a reply that a dropped socket never delivered is resent after the reconnect and settled once", async () => {
  await using server = await startServer();
  const { seat, op, session } = await seated(server);
  // The server drops the socket as the first answer arrives, before applying it.
  const received: string[] = [];
  const receive = session.receive.bind(session);
  session.receive = (socket, data) => {
    received.push(String(data));
    if (
      String(data).includes('"answer"') &&
      received.filter((d) => d.includes('"answer"')).length === 1
    ) {
      session.closeSocket(1011, "test drop");
      return;
    }
    receive(socket, data);
  };
  let calls = 0;
  op.onAsk(() => {
    calls++;
    return 42;
  });
  const errors: Error[] = [];
  op.onError((err) => errors.push(err));
  const reconnecting = nextState(op, "reconnecting");
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q");
  assert.equal((await reconnecting).code, 1011);
  assert.equal(await answer, 42);
  await until(() => op.unsettled().length === 0);
  assert.equal(calls, 1, "the replayed ask does not run the handler again");
  assert.equal(received.filter((d) => d.includes('"answer"')).length, 2, "sent, then resent");
  assert.deepEqual(errors, [], "no duplicate was refused");
  assert.equal(session.pendingCount, 0);
  await op.close();
});

Deno.test("a reply the server applied just before the drop is not sent again", async () => {
  await using server = await startServer();
  const { seat, op, session } = await seated(server);
  const answers: string[] = [];
  const receive = session.receive.bind(session);
  session.receive = (socket, data) => {
    receive(socket, data);
    if (String(data).includes('"answer"')) {
      answers.push(String(data));
      session.closeSocket(1011, "drop after apply");
    }
  };
  const settled = Promise.withResolvers<void>();
  op.onAsk((frame) => {
    op.answer(frame.req_id, "once").then(settled.resolve, settled.reject);
    return undefined;
  });
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q");
  assert.equal(await answer, "once");
  await settled.promise; // resolved by the reconnect's replay, which no longer holds the ask
  assert.equal(answers.length, 1);
  assert.equal(op.state, "open");
  await op.close();
});

Deno.test("a reply made while disconnected is sent on reconnect and settles the request", async () => {
  await using server = await startServer();
  const { seat, op, session } = await seated(server);
  const gate = Promise.withResolvers<void>();
  op.onAsk(async () => {
    await gate.promise;
    return "late but fine";
  });
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q");
  await until(() => op.pending().length === 1);
  const reconnecting = nextState(op, "reconnecting");
  session.closeSocket(1011, "test drop");
  await reconnecting;
  const reopened = nextState(op, "open");
  gate.resolve();
  await reopened;
  assert.equal(await answer, "late but fine");
  await until(() => op.unsettled().length === 0);
  await op.close();
});

Deno.test("the client stops for good on 4001 when the seat is deleted", async () => {
  await using server = await startServer();
  const { seat, op } = await seated(server);
  const res = await fetch(`${server.base}/v1/operators/${seat.sid}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(res.status, 204);
  const end = await op.closed;
  assert.equal(end.state, "closed");
  // Deno's client sometimes loses the 4001 close frame ("Unexpected EOF", code 0).
  // The client then retries once, and the seat route's 404 stops it for good.
  if (end.code === 4001) assert.equal(end.reason, "session deleted");
  else assert.equal(end.reason, "unknown sid");
  await op.close();
});

Deno.test("the client stops on 4000 when another client takes the seat", async () => {
  await using server = await startServer();
  const { seat, op } = await seated(server);
  const other = await connectOperator({ url: server.base, ...seat, ...FAST });
  const end = await op.closed;
  assert.deepEqual([end.code, end.reason], [4000, "replaced"]);
  assert.equal(other.state, "open");
  await op.close();
  await other.close();
});

Deno.test("connectOperator rejects with the server's reason when the handshake is refused", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  await assert.rejects(
    connectOperator({ url: server.base, sid: seat.sid, token: "wrong", ...FAST }),
    /token mismatch/,
  );
  await assert.rejects(
    connectOperator({ url: server.base, sid: "op-nope", token: "x", ...FAST }),
    /unknown sid/,
  );
});

Deno.test("a run ending cancels the client's request with run_ended", async () => {
  await using server = await startServer();
  const { seat, op } = await seated(server);
  const cancelled = Promise.withResolvers<string>();
  op.onAsk(() => undefined).onCancel((f) => cancelled.resolve(f.reason));
  const run = new AbortController();
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q", { signal: run.signal });
  await until(() => op.pending().length === 1);
  run.abort(new RunEnded("run_ended"));
  await assert.rejects(answer, RunEnded);
  assert.equal(await cancelled.promise, "run_ended");
  const view = await getRun({ url: server.base, runId: "none" }).catch((e) => e);
  assert.equal(view.status, 404);
  await op.close();
});

Deno.test("a socket whose pings go unanswered is dropped (4100) and replaced", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const session = server.deps.sessions.get(seat.sid)!;
  const receive = session.receive.bind(session);
  let swallow = true;
  session.receive = (socket, data) => {
    if (swallow && String(data).includes('"ping"')) return; // a half-dead connection
    receive(socket, data);
  };
  const op = await connectOperator({ url: server.base, ...seat, ...FAST, heartbeatMs: 20 });
  const dropped = await nextState(op, "reconnecting");
  assert.equal(dropped.code, 4100);
  swallow = false;
  await nextState(op, "open");
  op.onAsk(() => "still here");
  assert.equal(await server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q"), "still here");
  await op.close();
});

Deno.test("a seat deleted while the client is away stops the reconnects", async () => {
  await using server = await startServer();
  const { seat, op, session } = await seated(server);
  const reconnecting = nextState(op, "reconnecting");
  session.closeSocket(1011, "test drop");
  await reconnecting;
  const res = await fetch(`${server.base}/v1/operators/${seat.sid}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(res.status, 204);
  const end = await op.closed;
  assert.equal(end.state, "closed");
  assert.match(end.reason ?? "", /unknown sid|session deleted/);
  await op.close();
});
