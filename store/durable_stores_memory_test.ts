import assert from "node:assert/strict";
import { runDurableStoreCases, sampleRequest, sampleRun } from "./_durable_store_cases.ts";
import { createMemoryDataStore } from "./data_store.ts";
import { createMemoryRunStore } from "./run_store.ts";
import { createMemorySeatStore } from "./seat_store.ts";
import { createMemorySecretStore } from "./secret_store.ts";

Deno.test("memory seat, run, data and secret stores pass the shared store cases", async (t) => {
  await runDurableStoreCases(t, {
    open: () =>
      Promise.resolve({
        seats: createMemorySeatStore(),
        runs: createMemoryRunStore(),
        data: createMemoryDataStore(),
        secrets: createMemorySecretStore(),
      }),
    close() {},
  });
});

Deno.test("the memory run store keeps its newest ended runs and forgets older ones whole", async () => {
  const runs = createMemoryRunStore(2);
  const end = (id: string, at: number) =>
    runs.putRun({ ...sampleRun(id, at), status: "succeeded", finished_at: at + 1 });
  await runs.putRun(sampleRun("run-live", 0)); // running: never forgotten
  for (const [i, id] of ["run-a", "run-b", "run-c"].entries()) {
    await runs.putRun(sampleRun(id, i + 1));
    await runs.appendEvent(id, { id: 1, type: "run_started", at: 1, data: {} });
    await runs.putToken({
      nonce: `n-${id}`,
      role: "worker",
      run_id: id,
      uses_left: null,
      ended: false,
      handle: `wh-${id}`,
    });
    await end(id, i + 1);
  }
  await end("run-b", 9); // a second write of an ended run does not count it twice
  assert.equal(await runs.getRun("run-a"), undefined);
  assert.deepEqual(await runs.listEvents("run-a"), []);
  assert.equal(await runs.getToken("n-run-a"), undefined);
  assert.equal(await runs.getTokenByHandle("wh-run-a"), undefined);
  for (const id of ["run-b", "run-c", "run-live"]) assert.ok(await runs.getRun(id), id);
  assert.ok(await runs.getTokenByHandle("wh-run-c"));
  assert.equal((await runs.listEvents("run-c")).length, 1);
});

Deno.test("the memory run store also bounds the bytes of its ended runs, keeping the newest", async () => {
  // 500 ended runs with 2 MB ctxs held 1.3 GB; 10,000 of them would be 20 GB
  const runs = createMemoryRunStore(10_000, 10 * 1024 * 1024);
  const big = (i: number) => `${i}`.padEnd(2_000_000, "x");
  for (let i = 0; i < 20; i++) {
    const id = `run-${String(i).padStart(2, "0")}`;
    await runs.putRun({ ...sampleRun(id, i), init_ctx: { s: big(i) } });
    await runs.putRun({
      ...sampleRun(id, i),
      init_ctx: { s: big(i) },
      status: "succeeded",
      final_ctx: { s: big(i) },
      finished_at: i + 1,
    });
  }
  const kept = (await runs.listRuns({ limit: 100 })).map((r) => r.run_id);
  assert.ok(kept.length >= 1 && kept.length <= 3, kept.join());
  assert.equal(kept[0], "run-19");
  // one run over the bound on its own is still kept until the next one ends
  const tiny = createMemoryRunStore(10_000, 1_000);
  await tiny.putRun({ ...sampleRun("run-big", 1), status: "failed", init_ctx: { s: big(1) } });
  assert.ok(await tiny.getRun("run-big"));
  await tiny.putRun({ ...sampleRun("run-next", 2), status: "failed" });
  assert.equal(await tiny.getRun("run-big"), undefined);
  assert.ok(await tiny.getRun("run-next"));
});

Deno.test("the memory run store drops what only a resume reads when a run it saw start ends", async () => {
  const runs = createMemoryRunStore();
  for (const [id, created] of [["run-new", true], ["run-old", false]] as const) {
    await runs.putRun(sampleRun(id, 1), { created });
    await runs.putJournal(id, { key: "0", ok: true, value: 1 });
    await runs.putRequest(id, sampleRequest(`op-${id}`, 1, id));
    await runs.appendEvent(id, { id: 1, type: "run_started", at: 1, data: {} });
    await runs.putRun({ ...sampleRun(id, 1), status: "succeeded", finished_at: 2 });
  }
  // a `:memory:` server never resumes a run it started: its journal and requests go
  assert.deepEqual(await runs.listJournal("run-new"), []);
  assert.deepEqual(await runs.listRequests("run-new"), []);
  assert.equal((await runs.listEvents("run-new")).length, 1);
  // a run it did not see start (written as a resume would find it) keeps them
  assert.equal((await runs.listJournal("run-old")).length, 1);
  assert.equal((await runs.listRequests("run-old")).length, 1);
});
