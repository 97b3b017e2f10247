/**
 * Issue 14: cluster mode on PostgreSQL. Instances are child processes started
 * as `deno task start` starts a server (tests/cluster/_instances.ts), on one
 * throwaway database (tests/_pg.ts); the clients live in this process.
 *
 * - Spawn round trip through `POST /v1/tasks`: the operator's seat (a raw
 *   client that answers `spawn_ack` at once) is on instance A; the run is
 *   started on A (one instance, same database) or on B (cross-instance).
 *   Baseline: the bare WebSocket echo of a spawn-sized frame.
 * - Runs per second: 16 runs of a 3-step `identity` blueprint through
 *   `POST /v1/tasks`, all on A, or 8 on A and 8 on B.
 * - For scale under the same load: the same server on `:memory:` (no database).
 *
 * The takeover time (SIGKILL of an owner to its runs resuming) is measured by
 * bench/cluster_takeover.ts.
 *
 * @module
 */
import { freshDatabase } from "../tests/_pg.ts";
import { type Instance, startInstance } from "../tests/cluster/_instances.ts";
import { openAnsweringOperator, operatorTask, startBareEcho } from "./_bench_helpers.ts";

const url = await freshDatabase();
const quiet = { leaseSecs: 10, env: { LOG_LEVEL: "error" } };
const [a, b, mem] = await Promise.all([
  startInstance(url, "bench-a", quiet),
  startInstance(url, "bench-b", quiet),
  // the same server without a database, for scale under the same load
  startInstance(url, "bench-mem", {
    ...quiet,
    env: { ...quiet.env, SWITCHBOARD_DATABASE_URL: "", SWITCHBOARD_KV: ":memory:" },
  }),
]);
globalThis.addEventListener("unload", () => {
  for (const i of [a, b, mem]) {
    try {
      Deno.kill(i.pid, "SIGKILL");
    } catch { /* gone */ }
  }
});

const minted = await fetch(`${a.base}/v1/operators`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ roles: ["main-ai"] }),
}).then((r) => r.json()) as { sid: string; token: string };
await openAnsweringOperator(`${a.wsBase}/v1/operators/${minted.sid}/ws`, minted.token);
const memSeat = await fetch(`${mem.base}/v1/operators`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ roles: ["main-ai"] }),
}).then((r) => r.json()) as { sid: string; token: string };
await openAnsweringOperator(`${mem.wsBase}/v1/operators/${memSeat.sid}/ws`, memSeat.token);
const bare = await startBareEcho({ client: "raw" });

const spawnBody = JSON.stringify(operatorTask("bench-cluster-spawn"));
const identityBody = JSON.stringify({
  blueprint: {
    kind: "inline",
    value: {
      id: "bench-cluster-steps",
      agents: [{ name: "step", kind: "rust_fn", spec: { fn_id: "identity" } }],
      flow: {
        kind: "seq",
        children: [1, 2, 3].map((n) => ({ kind: "step", ref: "step", in: "'x'", out: `$.s${n}` })),
      },
    },
  },
  init_ctx: {},
});

async function task(on: Instance, body: string): Promise<void> {
  const res = await fetch(`${on.base}/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (res.status !== 200) {
    throw new Error(`POST /v1/tasks on ${on.id}: ${res.status} ${await res.text()}`);
  }
  await res.body?.cancel();
}

// wait until B has heard of the seat minted on A
for (let i = 0; i < 100; i++) {
  try {
    await task(b, spawnBody);
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 50));
  }
}

const TOKEN = "x".repeat(380);
Deno.bench({
  group: "cluster spawn round trip",
  name: "bare WS spawn/spawn_ack echo",
  baseline: true,
}, async () => {
  await bare.request((reqId) => ({
    type: "spawn",
    req_id: reqId,
    task_id: "T-0000000000000001",
    agent: "impl",
    attempt: 1,
    capability_token: TOKEN,
    worker_handle: "wh-00000000000000000000000000000000",
    directive: `Fetch your prompt with GET ${a.base}/v1/worker/prompt`.repeat(6),
  }));
});
Deno.bench({
  group: "cluster spawn round trip",
  name: "one instance on :memory: (no database), same load",
}, async () => {
  await task(mem, spawnBody);
});
Deno.bench({
  group: "cluster spawn round trip",
  name: "one instance (PG): POST /v1/tasks on A, seat on A",
}, async () => {
  await task(a, spawnBody);
});
Deno.bench({
  group: "cluster spawn round trip",
  name: "cross-instance: POST /v1/tasks on B, seat on A",
}, async () => {
  await task(b, spawnBody);
});

Deno.bench({
  group: "cluster runs/s (16 runs of 3 steps)",
  name: "one instance: 16 on A",
  baseline: true,
}, async () => {
  await Promise.all(Array.from({ length: 16 }, () => task(a, identityBody)));
});
Deno.bench({
  group: "cluster runs/s (16 runs of 3 steps)",
  name: "one instance on :memory: (no database)",
}, async () => {
  await Promise.all(Array.from({ length: 16 }, () => task(mem, identityBody)));
});
Deno.bench(
  { group: "cluster runs/s (16 runs of 3 steps)", name: "two instances: 8 on A, 8 on B" },
  async () => {
    await Promise.all(Array.from({ length: 16 }, (_, i) => task(i % 2 ? b : a, identityBody)));
  },
);
