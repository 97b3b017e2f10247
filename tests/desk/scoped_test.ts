/**
 * Per-run seats and scoped routing, and nested asks from a real worker over
 * HTTP, against a real server and sockets.
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { get, nextOf, operatorAgentBlueprint, post, runEnded } from "../engine/_loop.ts";
import { connect, flowBlueprint, seatWith } from "./_desk.ts";

const askRev = (id: string) =>
  flowBlueprint({ kind: "ask", to: "rev", question: "'which seat?'", out: "$.who" }, id);

Deno.test("a request for a role goes to the run's own seat, then the Blueprint's, then the unscoped one", async () => {
  await using server = await startServer();
  const plain = await seatWith(server, { roles: ["rev"] });
  const bpSeat = await seatWith(server, { roles: ["rev"], scope: { blueprint_id: "scoped-bp" } });

  // POST /v1/runs `seats` mints the run's own reviewer and returns its token
  const started = await post(server, "/v1/runs", {
    blueprint: askRev("scoped-bp"),
    init_ctx: {},
    seats: [{ role: "rev" }],
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const [own] = started.body!.seats as Array<{ sid: string; token: string; role: string }>;
  assert.equal(own.role, "rev");
  assert.match(own.sid, /^op-/);
  const ownSeat = await connect(server, own.sid, own.token);
  const info = await get(server, `/v1/operators/${own.sid}`, {
    authorization: `Bearer ${own.token}`,
  });
  assert.deepEqual(info.body!.scope, { run_id: started.body!.run_id });
  const toOwn = await nextOf(ownSeat.ws, "ask");
  ownSeat.ws.send({ type: "answer", req_id: toOwn.req_id, value: "run seat" });
  const first = await runEnded(server, started.body!.run_id as string);
  assert.deepEqual(first.final_ctx, { who: "run seat" });
  // the run's own seat ends with its run
  assert.equal((await ownSeat.ws.closed).code, 4001);
  assert.equal(server.deps.sessions.has(own.sid), false);

  // without its own seat, the run of that Blueprint goes to the Blueprint's seat
  const second = await post(server, "/v1/runs", { blueprint: askRev("scoped-bp"), init_ctx: {} });
  const toBp = await nextOf(bpSeat.ws, "ask");
  bpSeat.ws.send({ type: "answer", req_id: toBp.req_id, value: "blueprint seat" });
  assert.deepEqual((await runEnded(server, second.body!.run_id as string)).final_ctx, {
    who: "blueprint seat",
  });

  // another Blueprint reaches the unscoped holder
  const third = await post(server, "/v1/runs", { blueprint: askRev("other-bp"), init_ctx: {} });
  const toPlain = await nextOf(plain.ws, "ask");
  plain.ws.send({ type: "answer", req_id: toPlain.req_id, value: "unscoped seat" });
  assert.deepEqual((await runEnded(server, third.body!.run_id as string)).final_ctx, {
    who: "unscoped seat",
  });
  assert.equal(bpSeat.ws.buffered().length + plain.ws.buffered().length, 0);
  await plain.ws.close();
  await bpSeat.ws.close();
});

Deno.test("an operator agent's operator_ref reaches the run's own seat, and POST /v1/tasks refuses seats", async () => {
  await using server = await startServer();
  const plain = await seatWith(server, { roles: ["main-ai"] });
  const started = await post(server, "/v1/runs", {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: {},
    seats: [{ role: "main-ai" }],
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const [own] = started.body!.seats as Array<{ sid: string; token: string }>;
  const ownSeat = await connect(server, own.sid, own.token);
  const spawn = await nextOf(ownSeat.ws, "spawn");
  ownSeat.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "mine" });
  assert.deepEqual((await runEnded(server, started.body!.run_id as string)).final_ctx, {
    r: "mine",
  });
  assert.equal(plain.ws.buffered().length, 0);
  const sync = await post(server, "/v1/tasks", {
    blueprint: { kind: "id", id: "main" },
    init_ctx: {},
    seats: [{ role: "x" }],
  });
  assert.equal(sync.status, 400);
  await plain.ws.close();
  await ownSeat.ws.closed;
});

Deno.test("a refused role in POST /v1/runs seats names its place in the body: /seats/i/role", async () => {
  await using server = await startServer();
  const res = await post(server, "/v1/runs", {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: {},
    seats: [{ role: "fine" }, { role: "op-lead" }],
  });
  assert.equal(res.status, 422);
  const issues = res.body!.issues as Array<{ path: unknown[]; pointer: string }>;
  assert.deepEqual(issues.map((i) => [i.path, i.pointer]), [[
    ["seats", 1, "role"],
    "/seats/1/role",
  ]]);
  assert.equal(server.deps.sessions.size, 0, "the seat minted before it is released");
});

Deno.test("a worker asks the operator of its spawn over HTTP: 200 in time, else 202 and a poll", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["main-ai"] });
  const started = await post(server, "/v1/runs", {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: {},
  });
  const runId = started.body!.run_id as string;
  const spawn = await nextOf(op.ws, "spawn");
  const auth = { authorization: `Bearer ${spawn.capability_token}` };

  // answered within wait_secs: 200 {value}
  const asking = post(server, "/v1/worker/ask", {
    question: "which branch?",
    schema: { type: "string" },
    wait_secs: 10,
  }, auth);
  const nested = await nextOf(op.ws, "ask");
  assert.equal(nested.parent_req_id, spawn.req_id);
  assert.equal(nested.question, "which branch?");
  assert.deepEqual(nested.schema, { type: "string" });
  assert.deepEqual(nested.context, spawn.context);
  assert.equal(nested.task_id, spawn.task_id);
  op.ws.send({ type: "answer", req_id: nested.req_id, value: 7 });
  assert.deepEqual((await nextOf(op.ws, "error")).issues?.[0], {
    path: [],
    pointer: "",
    message: "must be string",
  });
  op.ws.send({ type: "answer", req_id: nested.req_id, value: "main" });
  assert.deepEqual(await asking, { status: 200, body: { value: "main" } });

  // not answered within wait_secs: 202 {req_id}, then poll (the handle works too)
  const handle = { authorization: `Bearer ${spawn.worker_handle}` };
  const later = await post(server, "/v1/worker/ask", { question: "sure?", wait_secs: 0 }, handle);
  assert.equal(later.status, 202);
  const reqId = later.body!.req_id as string;
  const second = await nextOf(op.ws, "ask");
  assert.equal(second.req_id, reqId);
  assert.deepEqual((await get(server, `/v1/worker/ask/${reqId}`, handle)).body, {
    req_id: reqId,
    state: "pending",
  });
  const polling = get(server, `/v1/worker/ask/${reqId}?wait_secs=10`, auth);
  op.ws.send({ type: "answer", req_id: reqId, value: true });
  assert.deepEqual((await polling).body, { req_id: reqId, state: "settled", value: true });

  // cancelling the spawn cancels its nested asks
  const third = await post(
    server,
    "/v1/worker/ask",
    { question: "still there?", wait_secs: 0 },
    auth,
  );
  const pendingAsk = await nextOf(op.ws, "ask");
  assert.equal(pendingAsk.req_id, third.body!.req_id);
  const view = (await get(server, `/v1/runs/${runId}`)).body!;
  const nestedInView = (view.requests as Array<{ req_id: string; parent_req_id?: string }>)
    .filter((r) => r.parent_req_id === spawn.req_id);
  assert.equal(nestedInView.length, 3);
  const del = await fetch(`${server.base}/v1/runs/${runId}`, { method: "DELETE" });
  await del.body?.cancel();
  const cancels = [await nextOf(op.ws, "cancel"), await nextOf(op.ws, "cancel")];
  assert.deepEqual(
    cancels.map((c) => [c.req_id, c.reason]).sort(),
    [[pendingAsk.req_id, "parent_ended"], [spawn.req_id, "run_ended"]].sort(),
  );
  await runEnded(server, runId);
  await op.ws.close();
});

Deno.test("a nested ask needs a pending spawn and a valid schema", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["main-ai"] });
  const started = await post(server, "/v1/runs", {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: {},
  });
  const spawn = await nextOf(op.ws, "spawn");
  const auth = { authorization: `Bearer ${spawn.capability_token}` };
  const bad = await post(server, "/v1/worker/ask", { question: 1, schema: { type: 5 } }, auth);
  assert.equal(bad.status, 422);
  assert.equal(bad.body!.code, "answer_schema_invalid");
  assert.equal((await post(server, "/v1/worker/ask", { question: 1 }, {})).status, 401);
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "done" });
  await runEnded(server, started.body!.run_id as string);
  const late = await post(server, "/v1/worker/ask", { question: 1, wait_secs: 0 }, auth);
  assert.equal(late.status, 410);
  await op.ws.close();
});
