/**
 * The client across a real server crash: the server (a child process on a KV
 * file) is killed while a spawn waits on the client's handler, the handler
 * finishes while the server is down, and the server restarts on the same port.
 * The client reconnects by itself, resends the held reply once, and the run ends.
 */
import assert from "node:assert/strict";
import {
  connectOperator,
  mintSeat,
  startRun,
  type StateChange,
  waitRun,
} from "../../client/mod.ts";
import { createKvRunStore } from "../../store/run_store_kv.ts";
import { eventually, spawnServer, tempKv } from "../durable/_child.ts";
import { spawningRun } from "./_fixtures.ts";

Deno.test("a reply made while the server is down is resent after its restart and the run completes", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const url = first.base;
  const seat = await mintSeat({ url, roles: ["doer"] });
  const states: StateChange["state"][] = [];
  const gate = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  let calls = 0;
  await using op = await connectOperator({
    url,
    ...seat,
    heartbeatMs: 0,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  op.onState((s) => states.push(s.state));
  op.onSpawn(async () => {
    calls++;
    started.resolve();
    await gate.promise;
    return { value: { done: "while you were out" } };
  });
  const { run_id } = await startRun({ url, body: spawningRun("doer") });
  await started.promise;
  {
    using kv = await Deno.openKv(kvFile.path);
    const runs = createKvRunStore(kv);
    await eventually(async () => (await runs.listRequests(run_id)).length > 0);
  }

  await first.kill("SIGKILL");
  await eventually(() => Promise.resolve(states.includes("reconnecting")));
  gate.resolve(); // the reply is held: no socket
  await eventually(() => Promise.resolve(op.unsettled().length === 1));
  assert.equal(op.unsettled()[0].sent, false);

  await using second = await spawnServer(kvFile.path, { env: { PORT: String(first.port) } });
  const run = await waitRun({ url: second.base, runId: run_id });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { done: "while you were out" } });
  await eventually(() => Promise.resolve(op.unsettled().length === 0));
  assert.equal(calls, 1, "the replayed spawn did not run the handler again");
  assert.equal(op.state, "open");
});
