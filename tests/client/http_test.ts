import assert from "node:assert/strict";
import {
  cancelRun,
  connectOperator,
  deleteSeat,
  getRun,
  mintSeat,
  type RunEvent,
  runEvents,
  runTask,
  seatInfo,
  seatPending,
  startRun,
  SwitchboardError,
} from "../../client/mod.ts";
import { startServer, until } from "../_helpers.ts";
import { askingRun, NOPE } from "./_fixtures.ts";

Deno.test("REST helpers mint, read, list pending and delete a seat with the API token", async () => {
  await using server = await startServer({ config: { apiToken: "admin-secret" } });
  const url = server.base;
  const refused = await mintSeat({ url, roles: ["a"] }).catch((e) => e);
  assert.ok(refused instanceof SwitchboardError);
  assert.deepEqual([refused.status, refused.message], [401, "missing or empty Bearer token"]);

  const seat = await mintSeat({ url, apiToken: "admin-secret", roles: ["a"] });
  const conflict = await mintSeat({ url, apiToken: "admin-secret", roles: ["a"] }).catch((e) => e);
  assert.equal(conflict.status, 409);
  assert.deepEqual(conflict.extra.conflicts, ["a"]);

  assert.deepEqual(await seatInfo({ url, ...seat }), {
    sid: seat.sid,
    roles: ["a"],
    connected: false,
    pending: 0,
  });
  const answer = server.deps.seniorBridges.get(seat.sid)!.ask("T-1", "q");
  const [frame] = await seatPending({ url, ...seat });
  assert.equal(frame.type, "ask");
  const fails = assert.rejects(answer, /operator session deleted/);
  await deleteSeat({ url, ...seat });
  await fails;
  assert.equal((await seatInfo({ url, ...seat }).catch((e) => e)).status, 404);
});

Deno.test("runEvents() streams a run from the start through its ask to run_ended", async () => {
  await using server = await startServer({ functions: [NOPE] });
  const url = server.base;
  const seat = await server.mint();
  await using op = await connectOperator({ url, ...seat, heartbeatMs: 0 });
  op.onAsk(() => "fine");
  const { run_id } = await startRun({ url, body: askingRun(seat.sid) });
  const events: RunEvent[] = [];
  for await (const event of runEvents({ url, runId: run_id })) events.push(event);
  const types = events.map((e) => e.type);
  assert.equal(types[0], "run_started");
  assert.equal(types.at(-1), "run_ended");
  assert.ok(types.includes("operator_request_sent"), types.join());
  assert.ok(types.includes("operator_request_settled"), types.join());
  assert.deepEqual(events.map((e) => e.id), [...events.keys()].map((i) => events[0].id + i));
  const late = [];
  for await (const event of runEvents({ url, runId: run_id, lastEventId: events[1].id })) {
    late.push(event.id);
  }
  assert.deepEqual(late, events.slice(2).map((e) => e.id), "Last-Event-ID resumes after it");
  assert.equal((await getRun({ url, runId: run_id })).status, "succeeded");
});

Deno.test("runTask() returns final_ctx, and cancelRun() ends a waiting run", async () => {
  await using server = await startServer({ functions: [NOPE] });
  const url = server.base;
  const done = await runTask({
    url,
    body: { blueprint: { kind: "id", id: "main" }, init_ctx: {} },
  });
  assert.equal(done.ttl_source, "server_default");
  const seat = await server.mint();
  const { run_id } = await startRun({ url, body: askingRun(seat.sid) });
  await until(() => (server.deps.sessions.get(seat.sid)?.pendingCount ?? 0) === 1);
  const cancelled = await cancelRun({ url, runId: run_id });
  assert.equal(cancelled.status, "cancelled");
  const again = await cancelRun({ url, runId: run_id }).catch((e) => e);
  assert.equal(again.status, 410);
  const blocked = await runTask({ url, body: askingRun("op-nope") }).catch((e) => e);
  assert.equal(blocked.status, 400);
});
