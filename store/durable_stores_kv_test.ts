import assert from "node:assert/strict";
import {
  bigCtx,
  runDurableStoreCases,
  sampleRequest,
  sampleRun,
  sampleTask,
} from "./_durable_store_cases.ts";
import { createKvDataStore } from "./data_store_kv.ts";
import { openStores } from "./open_stores.ts";
import { createKvRunStore } from "./run_store_kv.ts";
import { createKvSeatStore } from "./seat_store_kv.ts";
import { createKvSecretStore } from "./secret_store_kv.ts";
import { kvRunKeys, MARK } from "./_kv_run_keys.ts";

Deno.test("KV seat, run, data and secret stores pass the shared store cases", async (t) => {
  let kv: Deno.Kv | undefined;
  await runDurableStoreCases(t, {
    async open() {
      kv = await Deno.openKv(":memory:");
      return {
        seats: createKvSeatStore(kv),
        runs: createKvRunStore(kv),
        data: createKvDataStore(kv),
        secrets: createKvSecretStore(kv),
      };
    },
    close: () => kv?.close(),
  });
});

Deno.test("KV stores keep runs, seats and the secret across closing and reopening the file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nested/switchboard.kv`;
  try {
    const ctx = bigCtx(300);
    {
      const stores = await openStores({ kvPath: path });
      await stores.runs.putRun(sampleRun("run-a", 1, ctx));
      await stores.seats.putSeat({
        sid: "op-1",
        token_hash: "h",
        roles: [],
        created_at: 1,
        last_seen_at: 1,
      });
      await stores.runs.putRequest("run-a", sampleRequest("op-1", 1, "run-a"));
      assert.equal(await stores.secrets.getOrCreateSecret("ab".repeat(32)), "ab".repeat(32));
      stores.close();
    }
    const stores = await openStores({ kvPath: path });
    try {
      assert.deepEqual((await stores.runs.getRun("run-a"))?.ctx, ctx);
      assert.deepEqual((await stores.seats.listSeats()).map((s) => s.sid), ["op-1"]);
      assert.equal((await stores.runs.listRequests("run-a"))[0].req_id, "op-1-ask-1");
      assert.equal(await stores.secrets.getOrCreateSecret("cd".repeat(32)), "ab".repeat(32));
    } finally {
      stores.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a replaced chunked run record leaves no chunks behind", async () => {
  using kv = await Deno.openKv(":memory:");
  const runs = createKvRunStore(kv);
  await runs.putRun(sampleRun("run-a", 1, bigCtx(200)));
  await runs.putRun(sampleRun("run-a", 1, bigCtx(130)));
  let chunks = 0;
  for await (const _ of kv.list({ prefix: ["runs", "blob"] })) chunks++;
  assert.equal(chunks, 3); // 130 KiB in 60 KiB chunks
  await runs.putRun(sampleRun("run-a", 1, {}));
  for await (const _ of kv.list({ prefix: ["runs", "blob"] })) assert.fail("chunks left");
});

Deno.test("concurrent writers of one run record leave exactly one readable value", async () => {
  using kv = await Deno.openKv(":memory:");
  const runs = createKvRunStore(kv);
  await Promise.all(
    Array.from({ length: 8 }, (_, i) => runs.putRun(sampleRun("run-a", 1, bigCtx(70 + i)))),
  );
  const ctx = (await runs.getRun("run-a"))?.ctx as { blob: string };
  assert.ok(ctx.blob.length >= 70 * 1024);
  const ref = (await kv.get<{ kind: string; chunks: number }>(["runs", "run", "run-a"])).value;
  let chunks = 0;
  for await (const _ of kv.list({ prefix: ["runs", "blob"] })) chunks++;
  assert.equal(chunks, ref?.chunks);
});

Deno.test("KV run store leaves out the resume-only records of the commit that ends a run it started", async () => {
  using kv = await Deno.openKv(":memory:");
  const runs = createKvRunStore(kv);
  const task = (runId: string) => ({
    id: `T-${runId}`,
    run_id: runId,
    key: "0",
    agent: "a",
    directive: "go",
    status: "pass" as const,
    attempt: 1,
    attempts: [{ n: 1, prompt: "go", tail: [], started_at: 1 }],
    last_result: null,
    created_at: 1,
    updated_at: 1,
  });
  // one burst: started, stepped and ended before the queue takes anything
  const quick = sampleRun("run-quick", 1);
  runs.putRun(quick, { created: true });
  runs.putTask(task("run-quick"));
  runs.putJournal("run-quick", { key: "0", ok: true, value: 1 });
  runs.appendEvent("run-quick", { id: 1, type: "run_started", at: 1, data: null });
  runs.appendEvent("run-quick", { id: 2, type: "run_ended", at: 2, data: null });
  await runs.putRun({ ...quick, status: "succeeded", final_ctx: {} });
  assert.equal((await runs.getRun("run-quick"))?.status, "succeeded");
  assert.deepEqual(await runs.listTasks("run-quick"), []);
  assert.deepEqual(await runs.listJournal("run-quick"), []);
  assert.deepEqual((await runs.listEvents("run-quick")).map((e) => e.id), [1, 2]);
  assert.deepEqual((await runs.listEvents("run-quick", 1)).map((e) => e.type), ["run_ended"]);

  // its steps and events are one value with its record
  const step = { seq: 1, key: "0", task_id: "T-run-quick", agent: "a", attempt: 1 };
  const quick2 = sampleRun("run-quick2", 3);
  runs.putRun(quick2, { created: true });
  runs.putStep("run-quick2", { ...step, verdict: "running", started_at: 1 });
  runs.putStep("run-quick2", { ...step, verdict: "pass", started_at: 1, finished_at: 2 });
  runs.appendEvent("run-quick2", { id: 1, type: "run_started", at: 1, data: null });
  await runs.putRun({ ...quick2, status: "succeeded", final_ctx: {} });
  const keys: string[] = [];
  for await (const { key } of kv.list({ prefix: ["runs"] })) {
    if (key.includes("run-quick2")) keys.push(String(key[1]));
  }
  assert.deepEqual(keys.sort(), ["order", "run"]);
  assert.deepEqual((await runs.listSteps("run-quick2")).map((s) => s.verdict), ["pass"]);
  assert.deepEqual((await runs.listEvents("run-quick2")).map((e) => e.type), ["run_started"]);
  assert.equal((await runs.getRun("run-quick2"))?.status, "succeeded");
  assert.equal("embedded" in (await runs.getRun("run-quick2"))!, false);

  // a run whose start was committed before keeps the records of its earlier
  // commits, and not those of the commit that ends it
  const slow = sampleRun("run-slow", 2);
  await runs.putRun(slow, { created: true });
  runs.putTask(task("run-slow"));
  await runs.putJournal("run-slow", { key: "0", ok: true, value: 1 });
  runs.putJournal("run-slow", { key: "1", ok: true, value: 2 });
  await runs.putRun({ ...slow, status: "succeeded", final_ctx: {} });
  assert.equal((await runs.listTasks("run-slow")).length, 1);
  assert.deepEqual((await runs.listJournal("run-slow")).map((e) => e.key), ["0"]);
  assert.deepEqual(await runs.listRuns({ limit: 5, status: "running" }), []);
});

Deno.test("KV run store reads back the tasks and tokens of a run stored by one commit, and prunes them", async () => {
  using kv = await Deno.openKv(":memory:");
  const runs = createKvRunStore(kv);
  const task = { ...sampleTask("T-1", "run-quick"), status: "pass" as const };
  task.attempts[0].nonce = "n1";
  const quick = sampleRun("run-quick", 1);
  runs.putRun(quick, { created: true });
  runs.putTask(task);
  runs.putToken({
    nonce: "n1",
    role: "worker",
    run_id: "run-quick",
    task_id: "T-1",
    uses_left: null,
    ended: true,
    handle: "wh-1",
  });
  await runs.putRun({ ...quick, status: "succeeded", final_ctx: {}, finished_at: 2 });
  const keys: string[] = [];
  for await (const { key } of kv.list({ prefix: ["runs"] })) keys.push(String(key[1]));
  assert.deepEqual(keys.sort(), ["blueprint", "order", "run", "token", "token_handle"]);
  // the task is found through its run (the trace's input and output)
  assert.equal(await runs.getTask("T-1"), undefined);
  assert.deepEqual(await runs.getTask("T-1", "run-quick"), task);
  assert.deepEqual((await runs.listTasks("run-quick")).map((t) => t.id), ["T-1"]);
  // the token answers by nonce and by handle (410 after a restart)
  assert.equal((await runs.getToken("n1"))?.ended, true);
  assert.equal((await runs.getTokenByHandle("wh-1"))?.nonce, "n1");
  // retention deletes them with the run
  assert.equal(await runs.pruneEnded(10, 10), 1);
  const left: string[] = [];
  for await (const { key } of kv.list({ prefix: ["runs"] })) left.push(String(key[1]));
  assert.deepEqual(left, ["blueprint"]);
  assert.equal(await runs.getToken("n1"), undefined);
});

Deno.test("KV run heads come from the index keys, and a run an older build indexed is read whole", async () => {
  using kv = await Deno.openKv(":memory:");
  const runs = createKvRunStore(kv);
  await runs.putRun(sampleRun("run-live", 1), { created: true });
  const done = sampleRun("run-done", 2);
  await runs.putRun(done, { created: true });
  await runs.putRun({ ...done, status: "succeeded", finished_at: 3 });
  // the records go: the heads still list, from the index keys alone
  const keys = kvRunKeys(["runs"]);
  await kv.delete(keys.run("run-live"));
  await kv.delete(keys.run("run-done"));
  const head = (id: string, status: string, at: number) => ({
    run_id: id,
    status,
    created_at: at,
    blueprint_id: "bp",
  });
  assert.deepEqual(await runs.listRunHeads({ limit: 10 }), [
    head("run-done", "succeeded", 2),
    head("run-live", "running", 1),
  ]);
  assert.deepEqual(await runs.listRunHeads({ limit: 10, status: "running" }), [
    head("run-live", "running", 1),
  ]);
  assert.deepEqual(await runs.listRunHeads({ limit: 10, status: "succeeded" }), [
    head("run-done", "succeeded", 2),
  ]);

  // an older build's index: the status alone, and an empty running mark
  const old = kv.atomic()
    .set(keys.run("run-old"), { kind: "inline", value: { ...sampleRun("run-old", 5) } })
    .set(keys.at("order", 5, "run-old"), "running")
    .set(keys.at("running", 5, "run-old"), MARK);
  assert.ok((await old.commit()).ok);
  assert.deepEqual((await runs.listRunHeads({ limit: 1 }))[0], head("run-old", "running", 5));
  assert.deepEqual(
    (await runs.listRunHeads({ limit: 1, status: "running" }))[0],
    head("run-old", "running", 5),
  );
});
