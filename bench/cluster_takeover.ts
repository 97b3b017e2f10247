/**
 * Issue 14: the time from an owner's SIGKILL to its runs resuming on another
 * instance. Two instances (child processes, as `deno task start` starts them)
 * on one throwaway PostgreSQL; N runs started on B wait on a `spawn` for a seat
 * on A; B is killed; the clock stops when A has claimed and resumed all N
 * (A's `claimed runs` log lines). Run it with
 * `deno run -A bench/cluster_takeover.ts [lease_secs…]`.
 *
 * @module
 */
import { freshDatabase } from "../tests/_pg.ts";
import { startInstance } from "../tests/cluster/_instances.ts";
import { openSocket } from "../tests/_helpers.ts";
import { operatorTask } from "./_bench_helpers.ts";

const RUNS = 50;

async function once(leaseSecs: number): Promise<number> {
  const url = await freshDatabase();
  const opts = { leaseSecs, env: { LOG_LEVEL: "info" } };
  await using a = await startInstance(url, "take-a", opts);
  await using b = await startInstance(url, "take-b", opts);
  const minted = await fetch(`${a.base}/v1/operators`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ roles: ["main-ai"] }),
  }).then((r) => r.json()) as { sid: string; token: string };
  const ws = await openSocket(`${a.wsBase}/v1/operators/${minted.sid}/ws`, {
    token: minted.token,
  });
  const body = JSON.stringify(operatorTask("take"));
  for (let i = 0; i < RUNS; i++) {
    const res = await fetch(`${b.base}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    if (res.status !== 202) throw new Error(`POST /v1/runs: ${res.status} ${await res.text()}`);
    await res.body?.cancel();
  }
  for (let i = 0; i < RUNS; i++) await ws.next({ signal: AbortSignal.timeout(20_000) });
  await b.kill("SIGKILL");
  const killed = performance.now();
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const resumed = a.stderr().split("\n").filter((l) => l.includes('"msg":"claimed runs"'))
      .reduce((n, l) => n + (JSON.parse(l).resumed as number), 0);
    if (resumed >= RUNS) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = performance.now() - killed;
  await ws.close();
  return ms;
}

if (import.meta.main) {
  const leases = Deno.args.length > 0 ? Deno.args.map(Number) : [1, 3];
  for (const lease of leases) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await once(lease));
    const fmt = times.map((t) => `${(t / 1000).toFixed(2)} s`).join(", ");
    console.log(`lease ${lease} s, ${RUNS} runs: SIGKILL → all resumed on A in ${fmt}`);
  }
}
