/**
 * A run and its operator's socket on the same instance: the request is sent
 * and settled there without waiting for the database, yet a second reply is
 * still refused, the run's record shows the request, and a socket that moves to
 * another instance before replying gets the request replayed there.
 *
 * @module
 */
import assert from "node:assert/strict";
import { freshDatabase, PG_IGNORE } from "../_pg.ts";
import { openSocket } from "../_helpers.ts";
import { openSql } from "../../store/pg_sql.ts";
import { eventually, nextOf, runEnded, seatOn, startCluster } from "./_instances.ts";
import { ackReplayed, heldSeen, oneSpawn, startRunOn, withCluster } from "./_spawn_run.ts";
import { endedRun, liveOn, seatOperator } from "./_observe.ts";

Deno.test({
  name: "a run and its seat's socket on one instance: settled there once, a second reply refused",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      await heldSeen(b, op.sid, op.token);
      const runId = await startRunOn(a);
      const spawn = await nextOf(op.ws, "spawn");
      const ack = { type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "once" };
      op.ws.send(ack);
      op.ws.send({ ...ack, value: "twice" });
      const refused = await nextOf(op.ws, "error");
      assert.equal(refused.req_id, spawn.req_id);
      assert.match(refused.error, /unknown or already settled/);
      const run = await runEnded(b, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, { r: "once" });
      const requests = run.requests as Array<{ req_id: string; state: string }>;
      assert.deepEqual(requests.map((r) => [r.req_id, r.state]), [[spawn.req_id, "settled"]]);
    }),
});

Deno.test({
  name: "a request sent on a socket held by its run's instance is replayed when the socket moves",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      await heldSeen(b, op.sid, op.token);
      const runId = await startRunOn(a);
      const spawn = await nextOf(op.ws, "spawn");
      // the operator reconnects to B at once, before it replies
      await ackReplayed(b, op, spawn, a, runId, "from-b");
    }),
});

/**
 * The grace of the next test: the seat's deletion must reach the run's instance while
 * the request is still known to it alone. It took up to ~200 ms with the machine
 * loaded (7 on 2 cores): past the default 100 ms, the request's row was written.
 */
const LONG_GRACE_MS = 2_000;

Deno.test({
  name: "a seat deleted on another instance fails a request known to its run's instance alone",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"], {
      env: { SWITCHBOARD_CLUSTER_GRACE_MS: String(LONG_GRACE_MS) },
    });
    const [a, b] = cluster;
    const op = await seatOn(a, ["main-ai"]);
    await heldSeen(b, op.sid, op.token);
    const runId = await startRunOn(a);
    await nextOf(op.ws, "spawn");
    const sentBy = Date.now(); // the grace began before the spawn reached us
    const deleted = await fetch(`${b.base}/v1/operators/${op.sid}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${op.token}` },
    });
    assert.equal(deleted.status, 204);
    assert.equal((await op.ws.closed).code, 4001);
    const run = await runEnded(b, runId);
    assert.equal(run.status, "failed");
    assert.match(String(run.error), /operator session deleted/);
    const sql = openSql(url, { max: 1 });
    const rows = async () => [...await sql`SELECT req_id FROM sb_requests`];
    try {
      assert.ok(Date.now() - sentBy < LONG_GRACE_MS, "the run failed within the grace");
      assert.deepEqual(await rows(), []);
      // past the grace, nothing of the request was written for the deleted seat either
      // (not a wait for an event: time for a timer that should be gone to fire)
      await new Promise((r) => setTimeout(r, sentBy + LONG_GRACE_MS + 300 - Date.now()));
      assert.deepEqual(await rows(), []);
    } finally {
      await sql.end();
    }
  },
});

Deno.test({
  name: "a seat deleted on another instance after its request's row was written: the run fails " +
    "and drops the row",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    // no grace: the row is written at once (as after the default 100 ms on a busy machine)
    await using cluster = await startCluster(url, ["i-a", "i-b"], {
      env: { SWITCHBOARD_CLUSTER_GRACE_MS: "0" },
    });
    const [a, b] = cluster;
    const op = await seatOn(a, ["main-ai"]);
    await heldSeen(b, op.sid, op.token);
    const runId = await startRunOn(a);
    const spawn = await nextOf(op.ws, "spawn");
    const sql = openSql(url, { max: 1 });
    try {
      const states = async () =>
        (await sql`SELECT state FROM sb_requests WHERE req_id = ${spawn.req_id}`).map((r) =>
          r.state
        );
      await eventually(
        async () => (await states()).join() === "pending" ? true : undefined,
        10_000,
        "the request's row",
      );
      const deleted = await fetch(`${b.base}/v1/operators/${op.sid}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${op.token}` },
      });
      assert.equal(deleted.status, 204);
      const run = await runEnded(b, runId);
      assert.equal(run.status, "failed");
      assert.match(String(run.error), /operator session deleted/);
      // the run's end dropped its request rows: no seat was left to do it, and the row
      // stayed `pending` for good
      await eventually(
        async () => (await states()).length === 0 ? true : undefined,
        10_000,
        `the row of ended run ${runId} dropped`,
      );
    } finally {
      await sql.end();
    }
  },
});

Deno.test({
  name:
    "a pong after a reply settled on its run's instance alone means it is stored: a takeover does not ask again",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster;
    const op = await seatOn(a, ["main-ai"]);
    await heldSeen(b, op.sid, op.token);
    const twoSteps = {
      ...oneSpawn(),
      id: "spawn-then-wait",
      flow: {
        kind: "seq",
        children: [
          { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
          { kind: "step", ref: "impl", in: "'then Y'", out: "$.s" },
        ],
      },
    };
    const runId = await startRunOn(a, twoSteps);
    const first = await nextOf(op.ws, "spawn");
    op.ws.send({ type: "spawn_ack", req_id: first.req_id, ok: true, value: "x-done" });
    const second = await nextOf(op.ws, "spawn");
    op.ws.send({ type: "ping" });
    await nextOf(op.ws, "pong");
    await a.kill("SIGKILL");
    await op.ws.closed;
    // B takes the run over: the first step is done; the second is asked again (with a new
    // req_id if A died before writing its request, known to A alone for 100 ms)
    const ws = await openSocket(`${b.wsBase}/v1/operators/${op.sid}/ws`, { token: op.token });
    try {
      const asked = await nextOf(ws, "spawn", 20_000);
      assert.equal(asked.task_id, second.task_id, "the second step, not the first");
      ws.send({ type: "spawn_ack", req_id: asked.req_id, ok: true, value: "y-done" });
      const run = await runEnded(b, runId, 20_000);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, { r: "x-done", s: "y-done" });
      assert.deepEqual(ws.buffered().filter((f) => f.type === "spawn"), [], "no other spawn");
    } finally {
      await ws.close();
    }
  },
});

Deno.test({
  name:
    "a request of a run that ends in the batch that was to store it ends with its cancel, never pending",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op, url) => {
      const [a, b] = cluster;
      await heldSeen(b, op.sid, op.token);
      // two branches at once: `true` asks A's seat, `1` fails the branch (a non-boolean
      // cond) and with it the run, before the batch that would store the request
      const failing = {
        ...oneSpawn(),
        id: "ask-and-fail",
        flow: {
          kind: "fanout",
          items: "[true, 1]",
          bind: "$.item",
          join: "all",
          out: "$.out",
          body: {
            kind: "branch",
            cond: "$.item",
            then: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
            else: { kind: "assign", at: "$.r", value: "'no'" },
          },
        },
      };
      const runId = await startRunOn(b, failing);
      const run = await runEnded(b, runId);
      assert.equal(run.status, "failed", JSON.stringify(run));
      const text = await fetch(`${a.base}/v1/runs/${runId}/events`).then((r) => r.text());
      const types = text.split("\n").filter((l) => l.startsWith("event:")).map((l) => l.slice(7));
      const sent = types.filter((t) => t === "operator_request_sent").length;
      const ended = types.filter((t) =>
        t === "operator_request_cancelled" || t === "operator_request_settled"
      ).length;
      assert.equal(ended, sent, `every request sent ends: ${types.join(", ")}`);
      // no row left: none was written (the batch that ended the run left it out), or, when
      // the request's batch went first (a loaded machine), its row is dropped with the run
      // (it stayed `cancelled`: no seat held a request of the run any more at its end)
      const sql = openSql(url, { max: 1 });
      try {
        await eventually(
          async () => {
            const rows = await sql`SELECT state FROM sb_requests WHERE run_id = ${runId}`;
            return rows.length === 0 ? true : undefined;
          },
          10_000,
          `the rows of ended run ${runId} dropped`,
        );
      } finally {
        await sql.end();
      }
      // the operator got nothing of it, or the spawn and then its cancel (which may
      // still be on its way)
      if (op.ws.buffered().length > 0) {
        const spawn = await op.ws.next();
        assert.equal(spawn.type, "spawn");
        const cancel = await op.ws.next({ signal: AbortSignal.timeout(10_000) });
        assert.deepEqual(cancel, { type: "cancel", req_id: spawn.req_id, reason: "run_ended" });
      }
      assert.deepEqual(op.ws.buffered(), []);
    }),
});

Deno.test({
  name:
    "a reply held through a move to another instance is accepted there before the request's row is read",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster.map((i) => ({ name: i.id, base: i.base, wsBase: i.wsBase }));
    // the spawn is known to A alone (run and socket there); when the socket leaves, A
    // writes its row, and B may get the held reply first: it answered `unknown or
    // already settled req_id` and the run waited for a second reply
    for (let i = 0; i < 15; i++) {
      const role = `main-ai-${i}`;
      const op = await seatOperator(a, [role]);
      await liveOn(b, op); // the claim is done: the request stays on A
      const runId = await startRunOn(cluster[0], oneSpawn(undefined, role));
      const spawn = await op.next("spawn");
      await op.close();
      await op.connect(b);
      op.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "held" });
      const run = await endedRun(a, runId, 10_000);
      assert.deepEqual(op.log.filter((f) => f.type === "error"), [], `run ${i}`);
      assert.equal(run.status, "succeeded", `run ${i}`);
      await op.close();
    }
  },
});
