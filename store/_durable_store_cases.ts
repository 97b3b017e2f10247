/**
 * One table of behaviour cases for the seat, run, data and secret stores. The
 * memory and KV tests run it with their own factory.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Json } from "../protocol/json.ts";
import type { TaskState } from "../protocol/runs.ts";
import type { DataStore, StoredOutput } from "./data_store.ts";
import type { RunRecord, RunStore } from "./run_store.ts";
import type { RequestRecord, SeatStore } from "./seat_store.ts";
import type { SecretStore } from "./secret_store.ts";

/** The stores one case gets. */
export interface DurableStores {
  seats: SeatStore;
  runs: RunStore;
  data: DataStore;
  secrets: SecretStore;
}

/** Makes fresh stores for one case, and cleans up after it. */
export interface DurableStoreFactory {
  open(): Promise<DurableStores>;
  close(): Promise<void> | void;
}

/** A run record with `ctx` as its ctx. */
export function sampleRun(id: string, createdAt: number, ctx: Json = {}): RunRecord {
  return {
    run_id: id,
    status: "running",
    created_at: createdAt,
    deadline_at: createdAt + 60_000,
    blueprint: {
      schema_version: "0.1.0",
      id: "bp",
      flow: { kind: "step", ref: "a", in: { op: "lit", value: 1 }, out: { op: "path", at: "$.r" } },
      agents: [{ name: "a", kind: "rust_fn", spec: { fn_id: "identity" } }],
      operators: [],
      hints: { per_agent: {} },
      strategy: { strict_refs: true, strict_kind: true },
      metadata: { origin: { kind: "inline" }, tags: [] },
      spawner_hints: { layers: [] },
      default_agent_kind: "operator",
    },
    bound_version: null,
    effective_ttl_secs: 60,
    ttl_source: "request_body",
    operator: { id: "http-run", per_agent_kinds: {} },
    init_ctx: {},
    ctx,
  };
}

/** A pending ask of `sid` for `runId`. */
export function sampleRequest(sid: string, n: number, runId?: string, question: Json = n) {
  const reqId = `${sid}-ask-${n}`;
  const record: RequestRecord = {
    req_id: reqId,
    sid,
    kind: "ask",
    task_id: `T-${n}`,
    attempt: 1,
    frame: { type: "ask", req_id: reqId, task_id: `T-${n}`, question },
    sent_at: 1000 + n,
    state: "pending",
  };
  if (runId !== undefined) record.run_id = runId;
  return record;
}

/** A running task of `runId`, with `tail` as the note of its one attempt. */
export function sampleTask(id: string, runId: string, tail = ""): TaskState {
  return {
    id,
    run_id: runId,
    key: "0",
    agent: "a",
    directive: "go",
    status: "running",
    attempt: 1,
    attempts: [{
      n: 1,
      prompt: "go",
      tail: [{ type: "progress", stage: "s", note: tail }],
      started_at: 1,
    }],
    last_result: null,
    created_at: 1,
    updated_at: 1,
  };
}

/** A ctx whose JSON is about `kib` KiB. */
export function bigCtx(kib: number): Json {
  return { blob: "z".repeat(kib * 1024), list: Array.from({ length: 100 }, (_, i) => i) };
}

type Case = [name: string, run: (s: DurableStores) => Promise<void>];

const CASES: Case[] = [
  ["seats are listed after put and deleted one by one", async ({ seats }) => {
    const seat = { sid: "op-1", token_hash: "h1", roles: ["r"], created_at: 1, last_seen_at: 2 };
    await seats.putSeat(seat);
    await seats.putSeat({ ...seat, sid: "op-2", roles: [] });
    assert.deepEqual((await seats.listSeats()).map((s) => s.sid).sort(), ["op-1", "op-2"]);
    assert.deepEqual(
      (await seats.listSeats()).find((s) => s.sid === "op-1"),
      seat,
    );
    await seats.deleteSeat("op-1");
    assert.deepEqual((await seats.listSeats()).map((s) => s.sid), ["op-2"]);
  }],

  ["a run's requests list in the order sent, each in its latest state", async ({ runs }) => {
    runs.putRequest("run-a", sampleRequest("op-1", 3, "run-a"));
    runs.putRequest("run-a", sampleRequest("op-1", 1, "run-a"));
    runs.putRequest("run-b", sampleRequest("op-2", 2, "run-b"));
    const settled: RequestRecord = {
      ...sampleRequest("op-1", 1, "run-a"),
      state: "settled",
      reply: { type: "answer", req_id: "op-1-ask-1", value: "yes" },
    };
    runs.putRequest("run-a", settled);
    await runs.flushed();
    assert.deepEqual(await runs.listRequests("run-a"), [
      settled,
      sampleRequest("op-1", 3, "run-a"),
    ]);
    assert.deepEqual((await runs.listRequests("run-b")).map((r) => r.req_id), ["op-2-ask-2"]);
    assert.deepEqual(await runs.listRequests("run-c"), []);
  }],

  ["requests sent in one millisecond list by their count, not by req_id", async ({ runs }) => {
    const sent = (n: number, reqId: string): RequestRecord => ({
      ...sampleRequest("op-1", n, "run-a"),
      req_id: reqId,
      sent_at: 5000,
      seq: n,
    });
    runs.putRequest("run-a", sent(2, "op-1-ask-a"));
    runs.putRequest("run-a", sent(3, "op-1-ask-b"));
    runs.putRequest("run-a", sent(1, "op-1-ask-c"));
    await runs.flushed();
    const listed = await runs.listRequests("run-a");
    assert.deepEqual(listed.map((r) => r.seq), [1, 2, 3]);
  }],

  ["a request with a question over 64 KiB round-trips", async ({ runs }) => {
    const question = bigCtx(150);
    await runs.putRequest("run-a", sampleRequest("op-1", 1, "run-a", question));
    assert.deepEqual((await runs.listRequests("run-a"))[0].frame, {
      type: "ask",
      req_id: "op-1-ask-1",
      task_id: "T-1",
      question,
    });
  }],

  ["runs read back as written and list newest first, with a status filter", async ({ runs }) => {
    for (let i = 1; i <= 5; i++) await runs.putRun(sampleRun(`run-${i}`, i * 10));
    await runs.putRun({ ...sampleRun("run-2", 20), status: "succeeded", final_ctx: { ok: 1 } });
    assert.equal((await runs.getRun("run-2"))?.status, "succeeded");
    assert.deepEqual((await runs.getRun("run-2"))?.final_ctx, { ok: 1 });
    assert.equal(await runs.getRun("nope"), undefined);
    const ids = (l: RunRecord[]) => l.map((r) => r.run_id);
    assert.deepEqual(ids(await runs.listRuns({ limit: 3 })), ["run-5", "run-4", "run-3"]);
    assert.deepEqual(ids(await runs.listRuns({ limit: 10, status: "running" })), [
      "run-5",
      "run-4",
      "run-3",
      "run-1",
    ]);
    assert.deepEqual(ids(await runs.listRuns({ limit: 10, status: "succeeded" })), ["run-2"]);
    assert.deepEqual(await runs.listRuns({ limit: 0 }), []);
    // heads: the same runs, without the ctxs and the Blueprint, with its id
    const heads = await runs.listRunHeads({ limit: 10, status: "succeeded" });
    assert.deepEqual(heads.map((h) => [h.run_id, h.status]), [["run-2", "succeeded"]]);
    assert.equal(heads[0].blueprint_id, sampleRun("run-2", 20).blueprint.id);
    for (const field of ["init_ctx", "ctx", "final_ctx", "blueprint"]) {
      assert.ok(!(field in heads[0]), field);
    }
    assert.deepEqual((await runs.listRunHeads({ limit: 3 })).map((h) => h.run_id), [
      "run-5",
      "run-4",
      "run-3",
    ]);
  }],

  ["a run whose ctx is over 64 KiB is checkpointed and read back whole", async ({ runs }) => {
    await runs.putRun(sampleRun("run-big", 1, bigCtx(10)));
    const ctx = bigCtx(200);
    await runs.putRun({ ...sampleRun("run-big", 1), ctx });
    assert.deepEqual((await runs.getRun("run-big"))?.ctx, ctx);
    await runs.putRun({ ...sampleRun("run-big", 1), ctx: { small: true } });
    assert.deepEqual((await runs.getRun("run-big"))?.ctx, { small: true });
  }],

  ["steps, journal and events are kept per run and in order", async ({ runs }) => {
    const step = {
      seq: 1,
      key: "0",
      task_id: "T-1",
      agent: "a",
      attempt: 1,
      verdict: "running" as const,
      started_at: 5,
    };
    await runs.putStep("run-a", step);
    await runs.putStep("run-a", { ...step, verdict: "pass", finished_at: 6 });
    await runs.putStep("run-a", { ...step, seq: 2, key: "1" });
    await runs.putStep("run-b", step);
    assert.deepEqual((await runs.listSteps("run-a")).map((s) => [s.seq, s.verdict]), [
      [1, "pass"],
      [2, "running"],
    ]);
    const big = bigCtx(100);
    await runs.putJournal("run-a", { key: "0", ok: true, value: big });
    await runs.putJournal("run-a", { key: "1", ok: false, error: "blocked" });
    const journal = await runs.listJournal("run-a");
    assert.equal(journal.length, 2);
    assert.deepEqual(journal.find((e) => e.key === "0"), { key: "0", ok: true, value: big });
    for (let id = 1; id <= 12; id++) {
      await runs.appendEvent("run-a", { id, type: "t", at: id, data: { id } });
    }
    await runs.appendEvent("run-b", { id: 1, type: "t", at: 1, data: null });
    assert.deepEqual((await runs.listEvents("run-a")).map((e) => e.id), [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
      11,
      12,
    ]);
    assert.deepEqual((await runs.listEvents("run-a", 9)).map((e) => e.id), [10, 11, 12]);
    assert.deepEqual(await runs.listEvents("run-a", 12), []);
    assert.deepEqual(await runs.listEvents("run-c"), []);
  }],

  [
    "writes issued without awaiting apply in call order; an event id keeps its first",
    async ({ runs }) => {
      const step = {
        seq: 1,
        key: "0",
        task_id: "T-1",
        agent: "a",
        attempt: 1,
        verdict: "running" as const,
        started_at: 5,
      };
      const run = sampleRun("run-a", 1);
      const writes = [
        runs.putRun(run),
        runs.putStep("run-a", step),
        runs.appendEvent("run-a", { id: 1, type: "first", at: 1, data: null }),
        runs.putRun({ ...run, ctx: { n: 1 } }),
        runs.putStep("run-a", { ...step, verdict: "pass", finished_at: 6 }),
        runs.appendEvent("run-a", { id: 1, type: "again", at: 2, data: null }),
        runs.putJournal("run-a", { key: "0", ok: true, value: bigCtx(70) }),
        runs.putRun({ ...run, ctx: { n: 2 }, status: "succeeded" }),
      ];
      // reads see every write called before them, even before those settle
      assert.deepEqual((await runs.getRun("run-a"))?.ctx, { n: 2 });
      await Promise.all(writes);
      const stored = await runs.getRun("run-a");
      assert.equal(stored?.status, "succeeded");
      assert.deepEqual(stored?.blueprint, run.blueprint);
      assert.deepEqual((await runs.listSteps("run-a")).map((s) => s.verdict), ["pass"]);
      assert.deepEqual((await runs.listEvents("run-a")).map((e) => e.type), ["first"]);
      assert.deepEqual((await runs.listJournal("run-a"))[0], {
        key: "0",
        ok: true,
        value: bigCtx(70),
      });
      assert.deepEqual(await runs.listRuns({ limit: 5, status: "running" }), []);
      assert.deepEqual((await runs.listRuns({ limit: 5 }))[0].blueprint, run.blueprint);
    },
  ],

  [
    "pruneEnded deletes ended runs that finished before the cutoff, with everything of theirs",
    async ({ runs }) => {
      const fill = async (runId: string, n: number) => {
        const step = {
          seq: 1,
          key: "0",
          task_id: `T-${n}`,
          agent: "a",
          attempt: 1,
          verdict: "pass" as const,
          started_at: 5,
        };
        await runs.putStep(runId, step);
        await runs.putJournal(runId, { key: "0", ok: true, value: bigCtx(70) });
        await runs.appendEvent(runId, { id: 1, type: "t", at: 1, data: null });
        await runs.putRequest(runId, sampleRequest("op-x", n, runId));
        await runs.putTask(sampleTask(`T-${n}`, runId, "x".repeat(70 * 1024)));
        await runs.putToken({
          nonce: `n${n}`,
          role: "worker",
          run_id: runId,
          task_id: `T-${n}`,
          uses_left: null,
          ended: true,
          handle: `wh-${n}`,
        });
      };
      await runs.putRun({
        ...sampleRun("run-old", 1, bigCtx(70)),
        status: "failed",
        finished_at: 10,
      });
      await fill("run-old", 1);
      await runs.putRun({ ...sampleRun("run-new", 2), status: "succeeded", finished_at: 1_000 });
      await fill("run-new", 2);
      await runs.putRun(sampleRun("run-live", 3));
      assert.equal(await runs.pruneEnded(500, 100), 1);
      assert.equal(await runs.getRun("run-old"), undefined);
      assert.deepEqual(await runs.listSteps("run-old"), []);
      assert.deepEqual(await runs.listJournal("run-old"), []);
      assert.deepEqual(await runs.listEvents("run-old"), []);
      assert.deepEqual(await runs.listRequests("run-old"), []);
      assert.deepEqual(await runs.listTasks("run-old"), []);
      assert.equal(await runs.getTask("T-1"), undefined);
      assert.equal(await runs.getToken("n1"), undefined);
      assert.equal(await runs.getTokenByHandle("wh-1"), undefined);
      assert.deepEqual((await runs.listRuns({ limit: 10 })).map((r) => r.run_id), [
        "run-live",
        "run-new",
      ]);
      assert.equal((await runs.listJournal("run-new")).length, 1);
      assert.equal((await runs.getTokenByHandle("wh-2"))?.nonce, "n2");
      assert.equal(await runs.pruneEnded(500, 100), 0);
      assert.equal(await runs.pruneEnded(2_000, 100), 1);
      assert.equal(await runs.getRun("run-new"), undefined);
      assert.equal((await runs.getRun("run-live"))?.status, "running");
    },
  ],

  [
    "pruneExpiredTokens deletes expired session tokens only",
    async ({ runs }) => {
      const session = (nonce: string, expire_at?: number) => ({
        nonce,
        role: "operator" as const,
        uses_left: null,
        ended: false,
        ...(expire_at === undefined ? {} : { expire_at }),
      });
      await runs.putToken(session("s-old", 100));
      await runs.putToken(session("s-new", 5_000));
      await runs.putToken(session("s-legacy")); // written before records carried an expiry
      await runs.putRun(sampleRun("run-live", 1));
      await runs.putToken({
        nonce: "w-1",
        role: "worker",
        run_id: "run-live",
        uses_left: null,
        ended: false,
        expire_at: 100,
      });
      assert.equal(await runs.pruneExpiredTokens(1_000, 100), 1);
      assert.equal(await runs.getToken("s-old"), undefined);
      assert.equal((await runs.getToken("s-new"))?.expire_at, 5_000);
      assert.equal((await runs.getToken("s-legacy"))?.nonce, "s-legacy");
      assert.equal((await runs.getToken("w-1"))?.nonce, "w-1"); // a run's go with the run
      assert.deepEqual((await runs.listLiveTokens()).map((t) => t.nonce).sort(), [
        "s-legacy",
        "s-new",
        "w-1",
      ]);
      assert.equal(await runs.pruneExpiredTokens(1_000, 100), 0);
      await runs.putToken(session("s-a", 10));
      await runs.putToken(session("s-b", 10));
      assert.equal(await runs.pruneExpiredTokens(1_000, 1), 1); // the limit holds
      assert.equal(await runs.pruneExpiredTokens(1_000, 1), 1);
      assert.equal(await runs.pruneExpiredTokens(1_000, 1), 0);
    },
  ],

  ["tasks are kept by id and listed per run", async ({ runs }) => {
    await runs.putTask(sampleTask("T-1", "run-a"));
    await runs.putTask({ ...sampleTask("T-1", "run-a"), status: "pass" });
    await runs.putTask(sampleTask("T-2", "run-a", "x".repeat(90 * 1024)));
    await runs.putTask(sampleTask("T-3", "run-b"));
    assert.equal((await runs.getTask("T-1"))?.status, "pass");
    assert.equal(await runs.getTask("T-9"), undefined);
    assert.deepEqual((await runs.listTasks("run-a")).map((t) => t.id).sort(), ["T-1", "T-2"]);
    const t2 = await runs.getTask("T-2");
    const first = t2?.attempts[0].tail[0];
    assert.equal(first?.type === "progress" ? first.note?.length : 0, 90 * 1024);
  }],

  ["live tokens are those of running runs and of no run", async ({ runs }) => {
    await runs.putRun(sampleRun("run-a", 1));
    await runs.putRun({ ...sampleRun("run-b", 2), status: "failed" });
    const token = (nonce: string, runId?: string) => ({
      nonce,
      role: "worker" as const,
      ...(runId === undefined ? {} : { run_id: runId, task_id: "T-1" }),
      uses_left: null,
      ended: false,
    });
    await runs.putToken(token("n1", "run-a"));
    await runs.putToken(token("n2", "run-b"));
    await runs.putToken(token("n3"));
    await runs.putToken({ ...token("n1", "run-a"), uses_left: 3 });
    const live = await runs.listLiveTokens();
    assert.deepEqual(live.map((t) => t.nonce).sort(), ["n1", "n3"]);
    assert.equal(live.find((t) => t.nonce === "n1")?.uses_left, 3);
  }],

  ["token records read back by nonce and by handle, with their latest state", async ({ runs }) => {
    const record = {
      nonce: "n9",
      role: "worker" as const,
      run_id: "run-a",
      task_id: "T-9",
      uses_left: null,
      ended: false,
      handle: "wh-0a1b2c3d",
    };
    assert.equal(await runs.getToken("n9"), undefined);
    assert.equal(await runs.getTokenByHandle("wh-0a1b2c3d"), undefined);
    await runs.putToken(record);
    await runs.putToken({ ...record, ended: true });
    assert.deepEqual(await runs.getToken("n9"), { ...record, ended: true });
    assert.deepEqual(await runs.getTokenByHandle("wh-0a1b2c3d"), { ...record, ended: true });
    assert.equal(await runs.getTokenByHandle("wh-ffffffff"), undefined);
  }],

  ["data outputs read back by id, and the newest wins per producer", async ({ data }) => {
    const out = (id: string, producer: string, value: Json): StoredOutput => ({
      id,
      task_id: "T-1",
      attempt: 1,
      producer_agent: producer,
      event: { type: "final", content: { kind: "inline", value }, ok: true },
      parent_refs: [],
      created_at: 1,
    });
    assert.equal(await data.latestByProducer("p"), undefined);
    await data.putOutput(out("o1", "p", 1));
    await data.putOutput(out("o2", "p", bigCtx(80)));
    await data.putOutput(out("o3", "q", 3));
    assert.equal((await data.latestByProducer("p"))?.id, "o2");
    assert.deepEqual((await data.getOutput("o2"))?.event, out("o2", "p", bigCtx(80)).event);
    assert.equal((await data.getOutput("o1"))?.producer_agent, "p");
    assert.equal(await data.getOutput("o9"), undefined);
  }],

  ["data records past their retention go oldest first", ({ data }) => dataRetentionCase(data)],

  ["the first secret stored wins", async ({ secrets }) => {
    const results = await Promise.all(["aa", "bb", "cc"].map((c) => secrets.getOrCreateSecret(c)));
    assert.equal(new Set(results).size, 1);
    assert.equal(await secrets.getOrCreateSecret("dd"), results[0]);
  }],
];

/** Runs every case as a step of `t`, each on fresh stores. */
/**
 * Data records written before a time go oldest first, `limit` at a time; a
 * producer whose latest record goes has none (also run on PostgreSQL).
 */
export async function dataRetentionCase(data: DataStore): Promise<void> {
  const out = (id: string, producer: string, at: number): StoredOutput => ({
    id,
    task_id: "T-1",
    attempt: 1,
    producer_agent: producer,
    event: { type: "final", content: { kind: "inline", value: id }, ok: true },
    parent_refs: [],
    created_at: at,
  });
  await data.putOutput(out("r1", "p", 100));
  await data.putOutput(out("r2", "p", 200));
  await data.putOutput(out("r3", "q", 300));
  await data.putOutput(out("r4", "p", 400));
  assert.equal(await data.pruneBefore(250, 1), 1, "the limit holds");
  assert.equal(await data.getOutput("r1"), undefined, "the oldest went first");
  assert.equal((await data.getOutput("r2"))?.id, "r2");
  assert.equal(await data.pruneBefore(350, 10), 2);
  assert.equal(await data.latestByProducer("q"), undefined, "q's latest record went");
  assert.equal((await data.latestByProducer("p"))?.id, "r4", "p's latest stays");
  assert.equal(await data.pruneBefore(350, 10), 0);
  assert.equal((await data.getOutput("r4"))?.id, "r4");
}

export async function runDurableStoreCases(
  t: Deno.TestContext,
  factory: DurableStoreFactory,
): Promise<void> {
  for (const [name, run] of CASES) {
    await t.step(name, async () => {
      const stores = await factory.open();
      try {
        await run(stores);
      } finally {
        await factory.close();
      }
    });
  }
}
