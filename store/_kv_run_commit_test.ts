import assert from "node:assert/strict";
import type { TokenRecord } from "../protocol/runs.ts";
import type { RunRecord } from "./run_store.ts";
import type { QueuedWrite } from "./_kv_write_queue.ts";
import { sampleRequest, sampleRun, sampleTask } from "./_durable_store_cases.ts";
import { kvRunKeys, MARK, type StoredRun } from "./_kv_run_keys.ts";
import { kvRunCommit, type RunWrites } from "./_kv_run_commit.ts";

const keys = kvRunKeys(["runs"]);
const written = Promise.resolve();
const step = (seq: number) => ({
  seq,
  key: `${seq}`,
  task_id: `T-${seq}`,
  agent: "a",
  attempt: 1,
  verdict: "pass" as const,
  started_at: seq,
});
const event = (id: number) => ({ id, type: "step", at: id, data: null });
const journal = () => new Map([["1", { key: "1", ok: true as const, value: 2 }]]);
/** The pending writes of `run`: a run started elsewhere unless `fields` say otherwise. */
const pending = (run: RunRecord, fields: Partial<RunWrites>): RunWrites => ({
  fresh: false,
  created: false,
  record: run,
  blueprintRef: "b1",
  written,
  ...fields,
});

/** The record of run-a's worker token `n1` (task T-1, handle wh-1). */
const workerToken = (ended: boolean): TokenRecord => ({
  nonce: "n1",
  role: "worker",
  run_id: "run-a",
  task_id: "T-1",
  uses_left: null,
  ended,
  handle: "wh-1",
});

/** The index keys the writes add, with their values (in key order), after one commit on a fresh KV. */
async function extras(writes: QueuedWrite[]): Promise<[Deno.KvKey, unknown][]> {
  using kv = await Deno.openKv(":memory:");
  const op = kv.atomic();
  for (const w of writes) w.extra?.(op);
  await op.commit();
  const out: [Deno.KvKey, unknown][] = [];
  for await (const { key, value } of kv.list({ prefix: [] })) out.push([key, value]);
  return out;
}

Deno.test("kvRunCommit writes a run that starts and ends in one commit as its record, steps and events inside", async () => {
  const run = { ...sampleRun("run-a", 5), status: "succeeded" as const, finished_at: 9 };
  const w = pending(run, {
    fresh: true,
    created: true,
    blueprint: { id: "b1", value: run.blueprint },
    steps: new Map([[1, step(1)]]),
    events: [event(1), event(2)],
  });
  const writes = kvRunCommit(keys).runWrites("run-a", w);
  assert.deepEqual(writes.map((x) => x.key), [keys.blueprint("b1"), keys.run("run-a")]);
  const { blueprint: _, ...rest } = run;
  const stored: StoredRun = {
    ...rest,
    blueprint_ref: "b1",
    embedded: { steps: [step(1)], events: [event(1), event(2)] },
  };
  assert.deepEqual(writes[1].value, stored);
  // its order key only (its status and Blueprint id): a run stored by one commit never had a
  // running mark
  assert.deepEqual(await extras(writes), [[keys.order(run), "succeeded\nbp"]]);
});

Deno.test("kvRunCommit writes a checkpoint's records, one event write per unbroken series", async () => {
  const run = sampleRun("run-a", 5);
  const task = sampleTask("T-1", "run-a");
  const w = pending(run, {
    journal: journal(),
    events: [event(1), event(2), event(4)],
    tasks: new Map([["T-1", task]]),
  });
  const writes = kvRunCommit(keys).runWrites("run-a", w);
  assert.deepEqual(writes.map((x) => x.key), [
    keys.journal("run-a", "1"),
    keys.task("T-1"),
    keys.event("run-a", 1),
    keys.event("run-a", 4),
    keys.run("run-a"),
  ]);
  assert.deepEqual(writes[2].value, [event(1), event(2)]);
  assert.equal(writes[2].onlyIfAbsent, true);
  assert.deepEqual(await extras(writes), [
    [keys.order(run), "running\nbp"],
    [keys.runTask("run-a", "T-1"), MARK],
    [keys.running(run), new TextEncoder().encode("bp")],
  ]);
  // the task's index key is written once
  assert.equal(kvRunCommit(keys).runWrites("run-a", w)[1].extraMutations, 1);
  const again = kvRunCommit(keys);
  again.runWrites("run-a", w);
  assert.equal(again.runWrites("run-a", w)[1].extra, undefined);
});

Deno.test("kvRunCommit leaves resume-only records out of the commit that ends a run it started", () => {
  const run = { ...sampleRun("run-a", 5), status: "failed" as const, finished_at: 9 };
  const held = sampleTask("T-2", "run-a");
  held.attempts[0].nonce = "n2";
  const w = pending(run, {
    fresh: true,
    journal: journal(),
    requests: new Map([["1001\nop-1-ask-1", sampleRequest("op-1", 1, "run-a")]]),
    tasks: new Map([["T-1", sampleTask("T-1", "run-a")], ["T-2", held]]),
  });
  const writes = kvRunCommit(keys).runWrites("run-a", w);
  // the task whose worker holds a token stays: it answers 410 after the run
  assert.deepEqual(writes.map((x) => x.key), [keys.task("T-2"), keys.run("run-a")]);
});

Deno.test("kvRunCommit adds a token's index keys with its first write only", async () => {
  const commit = kvRunCommit(keys);
  const record = workerToken(false);
  const first = commit.tokenWrite(record);
  assert.deepEqual(first.key, keys.token("n1"));
  assert.equal(first.blob, false);
  assert.equal(first.extraMutations, 2);
  assert.deepEqual(await extras([first]), [
    [keys.tokenIndex(record), MARK],
    [keys.tokenHandle("wh-1"), "n1"],
  ]);
  const second = commit.tokenWrite(record);
  assert.equal(second.extraMutations, 0);
  assert.equal(second.extra, undefined);
});

Deno.test("kvRunCommit keeps the tasks of a run stored by one commit in its record, and its tokens unmarked", async () => {
  const run = { ...sampleRun("run-a", 5), status: "succeeded" as const, finished_at: 9 };
  const task = sampleTask("T-1", "run-a");
  task.attempts[0].nonce = "n1";
  const record = workerToken(true);
  const commit = kvRunCommit(keys);
  const w = pending(run, {
    fresh: true,
    created: true,
    tasks: new Map([["T-1", task]]),
    tokens: new Map([["n1", record]]),
  });
  const writes = commit.runWrites("run-a", w);
  // no task key, no run_task or run_token mark: the record lists them
  assert.deepEqual(writes.map((x) => x.key), [keys.token("n1"), keys.run("run-a")]);
  const stored = writes[1].value as StoredRun;
  assert.deepEqual(stored.embedded?.tasks, [task]);
  assert.deepEqual(stored.embedded?.tokens, ["n1"]);
  assert.deepEqual(await extras(writes), [
    [keys.order(run), "succeeded\nbp"],
    [keys.tokenHandle("wh-1"), "n1"],
  ]);
  // written again later (not in one commit with its run), the token gets its mark
  assert.deepEqual(await extras([commit.tokenWrite(record)]), [
    [keys.tokenIndex(record), MARK],
    [keys.tokenHandle("wh-1"), "n1"],
  ]);
});
