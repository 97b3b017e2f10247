/**
 * The PostgreSQL run store on a real database: batched writes land as one
 * statement with the last value of each record, a run lost to a takeover writes
 * nothing more, and a queued request is announced with its row on the bus.
 *
 * @module
 */
import assert from "node:assert/strict";
import { PG_IGNORE, withMigratedSql } from "../tests/_pg.ts";
import { sampleRun } from "./_durable_store_cases.ts";
import { openBus } from "./pg_bus.ts";
import { claimOrphanRuns, FencedError } from "./pg_run_owner.ts";
import { createPgRunStore } from "./run_store_pg.ts";
import { RUN_EVENTS_TOPIC } from "./pg_write_batch.ts";
import { REQUEST_TOPICS } from "./pg_requests.ts";
import { busNote } from "./pg_bus.ts";
import type { RunEvent, StepRecord } from "../protocol/runs.ts";
import type { Sql } from "./pg_sql.ts";

const event = (id: number): RunEvent => ({ id, at: id, type: "run_started", data: { n: id } });
const step = (seq: number, verdict: string) =>
  ({
    seq,
    key: "/",
    agent: "a",
    attempt: 1,
    task_id: "T-1",
    verdict,
    started_at: 1,
  }) as unknown as StepRecord;

/** A test on a fresh migrated database (skipped without PostgreSQL). */
function pgTest(name: string, fn: (sql: Sql) => Promise<void>): void {
  Deno.test({ name, ignore: PG_IGNORE, fn: () => withMigratedSql(fn) });
}

pgTest(
  "PG run store: one batch keeps call order, the last record, the first event",
  async (sql) => {
    const runs = createPgRunStore(sql, { instanceId: "i-a" });
    const run = sampleRun("run-1", 1);
    // all in one tick: one batch, the run inserted with its last record
    const writes = [
      runs.putRun(run),
      runs.putStep("run-1", step(1, "running")),
      runs.appendEvent("run-1", event(1)),
      runs.appendEvent("run-1", { ...event(1), data: { n: 99 } }),
      runs.putStep("run-1", step(1, "pass")),
      runs.putRun({ ...run, status: "succeeded" }),
      runs.putToken({ nonce: "n-1", run_id: "run-1" } as never),
    ];
    await Promise.all(writes);
    assert.equal((await runs.getRun("run-1"))?.status, "succeeded");
    assert.deepEqual((await runs.listSteps("run-1")).map((s) => s.verdict), ["pass"]);
    assert.deepEqual((await runs.listEvents("run-1")).map((e) => e.data), [{ n: 1 }]);
    assert.equal((await runs.getToken("n-1"))?.nonce, "n-1");
    // a later batch updates the stored run
    await runs.appendEvent("run-1", event(2));
    assert.deepEqual((await runs.listEvents("run-1", 1)).map((e) => e.id), [2]);
    assert.equal(runs.startedHere("run-1"), true);
  },
);

pgTest(
  "PG run store: after a takeover the old owner's batch writes nothing and reports the loss",
  async (sql) => {
    const lost: string[] = [];
    const old = createPgRunStore(sql, { instanceId: "i-old", onFenced: (id) => lost.push(id) });
    await old.putRun(sampleRun("run-1", 1));
    await old.putRun(sampleRun("run-2", 2));
    // i-old never beat: another instance claims both
    const claims = await claimOrphanRuns(sql, "i-new", 10);
    assert.deepEqual(claims.map((c) => c.epoch), [2, 2]);
    const late = [
      old.appendEvent("run-1", event(5)),
      old.putRun({ ...sampleRun("run-1", 1), status: "failed" }),
      old.putToken({ nonce: "n-1", run_id: "run-1" } as never),
    ];
    for (const w of late) await assert.rejects(w, FencedError);
    assert.deepEqual(lost, ["run-1"]);
    assert.equal(old.epochOf("run-1"), undefined);
    assert.equal((await old.getRun("run-1"))?.status, "running");
    assert.deepEqual(await old.listEvents("run-1"), []);
    assert.equal(await old.getToken("n-1"), undefined);
  },
);

pgTest(
  "PG run store: a queued request is stored once per dedupe key and announced with its row",
  async (sql) => {
    const bus = await openBus(sql, { instanceId: "i-b" });
    const heard = Promise.withResolvers<unknown>();
    bus.on(REQUEST_TOPICS.opened, (_id, _from, row) => heard.resolve(row));
    const runs = createPgRunStore(sql, { instanceId: "i-a" });
    void runs.putRun(sampleRun("run-1", 1));
    const row = {
      req_id: "op-1-ask-1",
      sid: "op-1",
      run_id: "run-1",
      dedupe: "run-1|T-1|1|ask",
      kind: "ask",
      task_id: "T-1",
      attempt: 1,
      frame: { type: "ask", req_id: "op-1-ask-1", task_id: "T-1", question: 1 },
      sent_at: 1,
    };
    const note = busNote(REQUEST_TOPICS.opened, row.req_id, "i-a", { ...row, state: "pending" });
    assert.equal(await runs.queueRequest({ ...row, state: "pending", note }), "stored");
    assert.equal(
      await runs.queueRequest({ ...row, req_id: "op-1-ask-2", state: "pending", note }),
      "taken",
    );
    assert.deepEqual(await heard.promise, { ...row, state: "pending" });
    const stored = await sql`SELECT req_id, state FROM sb_requests`;
    assert.deepEqual(stored.map((r) => [r.req_id, r.state]), [["op-1-ask-1", "pending"]]);
    await bus.close();
  },
);

pgTest(
  "PG run store: a turn's writes of several runs go through the writer pool as one statement",
  async (sql) => {
    // the writer pool, seen statement by statement (the batch's parameters)
    const statements: string[] = [];
    const writer = new Proxy(sql, {
      apply(target, self, args) {
        statements.push(JSON.stringify(args.slice(1)));
        return Reflect.apply(target, self, args);
      },
    });
    const runs = createPgRunStore(sql, { instanceId: "i-a", writer });
    await runs.putRun(sampleRun("run-1", 1));
    assert.equal(statements.length, 1);
    // run-1 ends and run-2 starts and asks in the same turn: one statement for both
    const writes = [
      runs.putRun({ ...sampleRun("run-1", 1), status: "succeeded" }),
      runs.putRun(sampleRun("run-2", 2)),
      runs.queueRequest({
        req_id: "op-1-ask-1",
        sid: "op-1",
        run_id: "run-2",
        dedupe: "run-2|T-1|1|ask",
        kind: "ask",
        task_id: "T-1",
        attempt: 1,
        frame: { type: "ask", req_id: "op-1-ask-1", task_id: "T-1", question: 1 },
        sent_at: 1,
        state: "pending",
        note: null,
      }),
    ];
    assert.deepEqual(await Promise.all(writes), [undefined, undefined, "stored"]);
    assert.equal(statements.length, 2);
    assert.ok(statements[1].includes("run-1") && statements[1].includes("op-1-ask-1"));
    assert.equal((await runs.getRun("run-1"))?.status, "succeeded");
  },
);

pgTest(
  "PG run store: the batch that ends a run leaves its requests out; a later request is stored",
  async (sql) => {
    const runs = createPgRunStore(sql, { instanceId: "i-a" });
    await runs.putRun(sampleRun("run-1", 1));
    await runs.putRun(sampleRun("run-2", 2));
    const row = (runId: string, n: number) => ({
      req_id: `op-1-ask-${n}`,
      sid: "op-1",
      run_id: runId,
      dedupe: `${runId}|T-1|1|ask`,
      kind: "ask",
      task_id: "T-1",
      attempt: 1,
      frame: { type: "ask", req_id: `op-1-ask-${n}`, task_id: "T-1", question: 1 },
      sent_at: 1,
      note: null,
    });
    // run-1: settled and ended in one batch; run-2: settled, still running
    const writes = [
      runs.queueRequest({ ...row("run-1", 1), state: "settled", reply: { ok: 1 } }),
      runs.putRun({ ...sampleRun("run-1", 1), status: "succeeded" }),
      runs.queueRequest({ ...row("run-2", 2), state: "settled", reply: { ok: 2 } }),
    ];
    assert.deepEqual(await Promise.all(writes), ["skipped", undefined, "stored"]);
    const stored = await sql`SELECT req_id, state FROM sb_requests ORDER BY req_id`;
    assert.deepEqual(stored.map((r) => [r.req_id, r.state]), [["op-1-ask-2", "settled"]]);
    assert.equal(runs.hasRequestRows("run-1"), false);
    assert.equal(runs.hasRequestRows("run-2"), true);
    runs.forgetRequestRows("run-2");
    assert.equal(runs.hasRequestRows("run-2"), false);
    runs.noteRequestRow("run-1");
    assert.equal(runs.hasRequestRows("run-1"), true);
    // a run lost to a takeover is forgotten whole: its rows are the new owner's
    runs.disown("run-1");
    assert.equal(runs.hasRequestRows("run-1"), false);
  },
);

pgTest(
  "PG run store: stored events are announced only for runs another instance follows",
  async (sql) => {
    const bus = await openBus(sql, { instanceId: "i-b" });
    const heard: string[] = [];
    bus.on(RUN_EVENTS_TOPIC, (ids) => heard.push(ids));
    const runs = createPgRunStore(sql, { instanceId: "i-a" });
    await runs.putRun(sampleRun("run-1", 1));
    await runs.putRun(sampleRun("run-2", 2));
    await runs.appendEvent("run-1", event(1));
    runs.followed("run-2", 10_000);
    await Promise.all([runs.appendEvent("run-1", event(2)), runs.appendEvent("run-2", event(1))]);
    await runs.appendEvent("run-2", event(2));
    const until = Date.now() + 5_000;
    while (heard.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(heard, ["run-2", "run-2"]);
    await bus.close();
  },
);

pgTest(
  "PG run store: pruneExpiredTokens deletes expired session tokens only, up to the limit",
  async (sql) => {
    const runs = createPgRunStore(sql, { instanceId: "i-a" });
    const session = (nonce: string, expire_at?: number) =>
      runs.putToken({
        nonce,
        role: "operator",
        uses_left: null,
        ended: false,
        ...(expire_at === undefined ? {} : { expire_at }),
      });
    await Promise.all([
      session("s-old", 100),
      session("s-old-2", 200),
      session("s-new", 5_000),
      session("s-legacy"),
      runs.putRun(sampleRun("run-1", 1)),
      runs.putToken({
        nonce: "w-1",
        role: "worker",
        run_id: "run-1",
        uses_left: null,
        ended: false,
        expire_at: 100,
      }),
    ]);
    assert.equal(await runs.pruneExpiredTokens(1_000, 1), 1);
    assert.equal(await runs.pruneExpiredTokens(1_000, 100), 1);
    assert.equal(await runs.pruneExpiredTokens(1_000, 100), 0);
    assert.deepEqual((await runs.listLiveTokens()).map((t) => t.nonce).sort(), [
      "s-legacy",
      "s-new",
      "w-1",
    ]);
  },
);

pgTest(
  "PG run store: a run that starts and ends in one batch is one row, read back as rows are",
  async (sql) => {
    const runs = createPgRunStore(sql, { instanceId: "i-a" });
    const run = sampleRun("run-short", 1);
    const task = (id: string, nonce?: string) =>
      ({ id, run_id: "run-short", created_at: 1, attempts: [{ n: 1, nonce }] }) as never;
    await Promise.all([
      runs.putRun(run),
      runs.putStep("run-short", step(1, "running")),
      runs.appendEvent("run-short", event(1)),
      runs.putTask(task("T-token", "n-1")),
      runs.putTask(task("T-fn")),
      runs.putJournal("run-short", { key: "0", ok: true, value: { a: 1 } }),
      runs.putStep("run-short", step(1, "pass")),
      runs.putStep("run-short", step(2, "pass")),
      runs.appendEvent("run-short", event(2)),
      runs.putRun({ ...run, status: "succeeded", finished_at: 5 }),
    ]);
    const kinds = await sql`SELECT kind FROM sb_run_records WHERE run_id = 'run-short'`;
    // the task whose worker holds a token stays a row (found by task id alone); the
    // journal and a token-less task are read only by a resume, and an ended run has none
    assert.deepEqual(kinds.map((r) => r.kind), ["task"]);
    assert.equal((await runs.getTask("T-token"))?.id, "T-token");
    assert.equal(await runs.getTask("T-fn"), undefined);
    assert.deepEqual(await runs.listJournal("run-short"), []);
    assert.deepEqual((await runs.listSteps("run-short")).map((s) => [s.seq, s.verdict]), [
      [1, "pass"],
      [2, "pass"],
    ]);
    assert.deepEqual((await runs.listEvents("run-short")).map((e) => e.id), [1, 2]);
    assert.deepEqual((await runs.listEvents("run-short", 1)).map((e) => e.id), [2]);
    // a later write of the ended run: a row, read with the bundle (the row wins
    // for a step, the bundle for an event, written once)
    await Promise.all([
      runs.appendEvent("run-short", event(3)),
      runs.appendEvent("run-short", { ...event(2), data: { n: 99 } }),
      runs.putStep("run-short", step(2, "failed")),
    ]);
    assert.deepEqual((await runs.listEvents("run-short")).map((e) => e.data), [
      { n: 1 },
      { n: 2 },
      { n: 3 },
    ]);
    assert.deepEqual((await runs.listSteps("run-short")).map((s) => s.verdict), [
      "pass",
      "failed",
    ]);
    // a run still running after its first batch keeps one row a record
    await Promise.all([
      runs.putRun(sampleRun("run-long", 2)),
      runs.putStep("run-long", step(1, "running")),
    ]);
    const [{ n }] =
      await sql`SELECT count(*)::int AS n FROM sb_run_records WHERE run_id = 'run-long'`;
    assert.equal(n, 1);
    // retention deletes the bundle with its run
    assert.equal(await runs.pruneEnded(10, 10), 1);
    assert.deepEqual(await runs.listEvents("run-short"), []);
  },
);

pgTest(
  "PG run store: the batch that ends a longer run leaves out its journal and token-less tasks",
  async (sql) => {
    const runs = createPgRunStore(sql, { instanceId: "i-a" });
    const run = sampleRun("run-long", 1);
    const task = (id: string) =>
      ({ id, run_id: "run-long", created_at: 1, attempts: [{ n: 1 }] }) as never;
    await Promise.all([
      runs.putRun(run),
      runs.putTask(task("T-1")),
      runs.putJournal("run-long", { key: "0", ok: true, value: 1 }),
    ]);
    // still running after its first batch: written for a resume
    assert.equal((await runs.listJournal("run-long")).length, 1);
    await Promise.all([
      runs.putTask(task("T-2")),
      runs.putJournal("run-long", { key: "1", ok: true, value: 2 }),
      runs.putRun({ ...run, status: "succeeded", finished_at: 5 }),
    ]);
    assert.deepEqual((await runs.listJournal("run-long")).map((e) => e.key), ["0"]);
    assert.equal(await runs.getTask("T-2"), undefined);
    assert.equal((await runs.getTask("T-1"))?.id, "T-1");
    assert.equal((await runs.getRun("run-long"))?.status, "succeeded");
  },
);

pgTest(
  "PG run store: run heads list newest first without the ctxs and the Blueprint",
  async (sql) => {
    const runs = createPgRunStore(sql, { instanceId: "i-a" });
    await runs.putRun({ ...sampleRun("run-1", 10), init_ctx: { big: "x" } });
    await runs.putRun({ ...sampleRun("run-2", 20), status: "succeeded", final_ctx: { ok: 1 } });
    await runs.flushed();
    const heads = await runs.listRunHeads({ limit: 10 });
    assert.deepEqual(heads.map((h) => h.run_id), ["run-2", "run-1"]);
    assert.equal(heads[0].blueprint_id, sampleRun("run-2", 20).blueprint.id);
    assert.equal(heads[0].status, "succeeded");
    for (const field of ["init_ctx", "ctx", "final_ctx", "blueprint"]) {
      assert.ok(!(field in heads[0]), field);
    }
    const done = await runs.listRunHeads({ limit: 10, status: "succeeded" });
    assert.deepEqual(done.map((h) => h.run_id), ["run-2"]);
  },
);
