import assert from "node:assert/strict";
import { runDurableStoreCases, sampleRun } from "./_durable_store_cases.ts";
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
