/**
 * Issue 14: cluster mode on PostgreSQL, measured as the shared measuring stick
 * measures a server (bench/real_server/). Instances are child processes started
 * as `deno task start` starts a server (tests/cluster/_instances.ts), on one
 * throwaway database (tests/_pg.ts); the clients live in this process.
 *
 * - Spawn round trip, as bench/real_server/spawn_roundtrip.ts: sequential
 *   `POST /v1/tasks` of a one-step operator blueprint whose seat answers
 *   `spawn_ack` at once; p50 and p99 of N round trips after 30 warm-ups. The
 *   floor is bench/real_server/bare_server.ts (HTTP in, one JSON frame over an
 *   open WebSocket, the reply matched by req_id, JSON out), measured in the
 *   same run with the same loop. Cases: the seat and the run on one instance
 *   on `:memory:` (no database); on PostgreSQL, both on A; cross-instance, the
 *   seat on A and `POST /v1/tasks` on B. Beside them, bench/real_server/bare_cluster.ts:
 *   the cross-instance hop with only the steps issue 14's rules require (a row
 *   and an id notification each way), the floor of any server that keeps them.
 * - Runs per second, as bench/real_server/runs_throughput.ts: C clients loop
 *   `POST /v1/tasks` on a stored 3-step identity blueprint for SECS seconds,
 *   all on one instance, or split over A and B on one database.
 *
 * Run it with `deno run -A bench/cluster_bench.ts` (env: N, SECS, C, PARTS =
 * `spawn,runs`, FILL = ended runs stored first). The takeover time is measured by bench/cluster_takeover.ts.
 *
 * @module
 */
import { freshDatabase } from "../tests/_pg.ts";
import { type Instance, startInstance } from "../tests/cluster/_instances.ts";
import { identityBlueprint, spawnAcker, spawnBlueprint } from "./_blueprints.ts";

const N = Number(Deno.env.get("N") ?? 300);
const SECS = Number(Deno.env.get("SECS") ?? 3);
const C = Number(Deno.env.get("C") ?? 16);
const PARTS = (Deno.env.get("PARTS") ?? "spawn,runs").split(",");
/** Ended runs stored before the cases (the run table of a server that has been up a while). */
const FILL = Number(Deno.env.get("FILL") ?? 0);

const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const post = (url: string, body: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });

/** The stick's spawn loop: sequential POSTs answered by a seat on `wsUrl`; p50/p99 in µs. */
async function roundTrips(postUrl: string, wsUrl: string, token: string | null, body: string) {
  const ws = await spawnAcker(wsUrl, token ?? undefined);
  const times: number[] = [];
  for (let i = 0; i < N + 30; i++) {
    const t = performance.now();
    const r = await post(postUrl, body);
    const j = await r.json();
    if (r.status !== 200 || JSON.stringify(j.final_ctx) !== '{"r":{"ok":1}}') {
      throw new Error(`bad answer ${r.status} ${JSON.stringify(j)}`);
    }
    if (i >= 30) times.push(performance.now() - t);
  }
  ws.close();
  times.sort((a, b) => a - b);
  return {
    p50: times[Math.floor(times.length / 2)] * 1000,
    p99: times[Math.floor(times.length * 0.99)] * 1000,
  };
}

/** The stick's throughput loop: C clients, each POSTing `body` to one of `urls` in turn. */
async function drive(urls: string[], body: string, check: (j: unknown) => boolean) {
  let n = 0, bad = 0;
  const end = performance.now() + SECS * 1000;
  await Promise.all(Array.from({ length: C }, async (_, i) => {
    const url = urls[i % urls.length];
    while (performance.now() < end) {
      const r = await post(url, body);
      const j = await r.json().catch(() => null);
      if (r.status === 200 && check(j)) n++;
      else bad++;
    }
  }));
  return { perSec: n / SECS, bad };
}

/** Mints a seat for a fresh role on `on`. */
async function mint(on: Instance) {
  const role = `perf-${crypto.randomUUID().slice(0, 6)}`;
  const r = await post(`${on.base}/v1/operators`, JSON.stringify({ roles: [role] }));
  if (r.status !== 200) throw new Error(`mint on ${on.id}: ${r.status} ${await r.text()}`);
  const m = await r.json() as { sid: string; token: string };
  return { ...m, role };
}

/** The stick's one-step operator blueprint for `role`, as a task body. */
function spawnTask(role: string): string {
  return JSON.stringify({
    blueprint: { kind: "inline", value: spawnBlueprint("perf", role) },
    init_ctx: {},
  });
}

/** Waits until `on` knows the seat of `role` (it was minted on another instance). */
async function untilKnown(on: Instance, sid: string, token: string) {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${on.base}/v1/operators/${sid}`, {
      headers: { authorization: `Bearer ${token}` },
    }).catch((err) => {
      throw new Error(`${on.id}: ${err}\n${on.stderr().slice(-3000)}`);
    });
    await r.body?.cancel();
    if (r.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${on.id} never heard of seat ${sid}:\n${on.stderr().slice(-3000)}`);
}

/** CPU time (user + system, ms) used so far by processes `pids`. */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch { /* gone */ }
  }
  return ticks * 10; // 100 ticks a second
}

/** The PostgreSQL server's processes (the postmaster of `url`'s server and its children). */
async function pgPids(url: string): Promise<number[]> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const [{ data_directory: dir }] = await sql`SHOW data_directory`;
  await sql.end();
  let master: number;
  try {
    master = Number(Deno.readTextFileSync(`${dir}/postmaster.pid`).split("\n")[0]);
  } catch {
    return []; // not readable (another user): no figure
  }
  const pids = [master];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === master) pids.push(Number(e.name));
    } catch { /* gone */ }
  }
  return pids;
}

/** A bare server of bench/real_server/ as a child process; resolves once it listens. */
async function startBare(script = "bare_server.ts", env: Record<string, string> = {}) {
  const port = 40000 + Math.floor(Math.random() * 20000);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`./real_server/${script}`, import.meta.url).pathname],
    env: { ...env, PORT: String(port) },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill();
      await child.status;
    },
  };
}

const url = await freshDatabase();
// as `deno task start` runs them: logs at info, the boot warm-up on ("" = its default)
const asUser = { leaseSecs: 10, env: { SWITCHBOARD_WARMUP: "" } };
const [a, b, mem] = await Promise.all([
  startInstance(url, "bench-a", asUser),
  startInstance(url, "bench-b", asUser),
  // the same server without a database, for scale under the same load
  startInstance(url, "bench-mem", {
    ...asUser,
    env: { ...asUser.env, SWITCHBOARD_DATABASE_URL: "", SWITCHBOARD_KV: ":memory:" },
  }),
]);
globalThis.addEventListener("unload", () => {
  for (const i of [a, b, mem]) {
    try {
      Deno.kill(i.pid, "SIGKILL");
    } catch { /* gone */ }
  }
});

globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.log(`FAILED: ${e.reason?.message ?? e.reason}`);
  for (const i of [a, b, mem]) console.log(`--- ${i.id}\n${i.stderr().slice(-4000)}`);
  Deno.exit(1);
});

const { default: postgres } = await import("postgres");
const stats = postgres(url, { max: 1, onnotice: () => {} });
if (FILL > 0) {
  // ended runs of both instances, as a server keeps them for SWITCHBOARD_RUN_RETENTION_SECS
  await stats.unsafe(`INSERT INTO sb_runs (run_id, status, created_at, owner, epoch, record)
    SELECT 'run-fill-' || g, 'succeeded', g, CASE WHEN g % 2 = 0 THEN 'bench-a' ELSE 'bench-b' END,
      1, '{}'::json FROM generate_series(1, ${FILL}) g`);
  await stats`ANALYZE sb_runs`;
}
/** Transactions committed in the bench's database so far (a write batch or a read each). */
const commits = async () =>
  Number(
    (await stats`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`)[0]
      .xact_commit,
  );
/**
 * Write transactions so far, counted by transaction ids (exact at once, unlike
 * the statistics, which a backend flushes at most once a second; this call
 * takes an id too).
 */
const writes = async () => Number((await stats`SELECT pg_current_xact_id()::text AS x`)[0].x);

/**
 * The stick's spawn loop on `on` (instances serving it), with the CPU a round
 * trip cost them and PostgreSQL, and the write transactions it cost.
 */
async function measuredTrips(on: Instance[], ...args: Parameters<typeof roundTrips>) {
  // PostgreSQL's processes by pid: a backend the pools open meanwhile counts from zero
  const pgEach = async () => new Map((await pgPids(url)).map((pid) => [pid, cpuMs([pid])]));
  const pids = on.map((i) => i.pid);
  const [before, pgBefore, txBefore] = [cpuMs(pids), await pgEach(), await writes()];
  const r = await roundTrips(...args);
  const n = N + 30;
  const [cpu, pgAfter, tx] = [cpuMs(pids), await pgEach(), await writes()];
  let pgCpu = 0;
  for (const [pid, ms] of pgAfter) pgCpu += ms - (pgBefore.get(pid) ?? 0);
  const extra = `CPU µs a round trip: instances ${((cpu - before) * 1000 / n).toFixed(0)}` +
    (on[0] === mem ? "" : `, PostgreSQL ${(pgCpu * 1000 / n).toFixed(0)}; ` +
      `write transactions ${((tx - txBefore - 1) / n).toFixed(2)}`);
  return { ...r, extra };
}

const line = (
  label: string,
  r: { p50: number; p99: number; extra?: string },
  floor?: number,
) =>
  console.log(
    `  ${label.padEnd(44)} p50 ${r.p50.toFixed(0).padStart(6)} µs  p99 ${
      r.p99.toFixed(0).padStart(6)
    } µs${floor === undefined ? "" : `  ×${(r.p50 / floor).toFixed(2)} of the floor`}${
      r.extra ? `\n    ${r.extra}` : ""
    }`,
  );

if (PARTS.includes("spawn")) {
  console.log(`# spawn round trip (N=${N}), load ${load()}`);
  const bare = await startBare();
  const bareTrips = () =>
    roundTrips(
      `${bare.base}/run`,
      `${bare.base.replace("http", "ws")}/ws`,
      null,
      JSON.stringify({ flow: { in: { value: "x" } } }),
    );
  // twice: the first pass also warms this client, which every case after it finds warm
  line("bare_server.ts, the client cold", await bareTrips());
  const floor = await bareTrips();
  await bare.stop();
  line("bare_server.ts (the floor)", floor);
  // the same two-instance hop with nothing but the rules' own steps (bare_cluster.ts)
  await stats`CREATE TABLE IF NOT EXISTS floor_req (id text PRIMARY KEY, frame text NOT NULL, value text)`;
  for (const PAYLOAD of ["0", "1"]) {
    const [bareA, bareB] = await Promise.all(
      ["A", "B"].map((ROLE) => startBare("bare_cluster.ts", { ROLE, PAYLOAD, DATABASE_URL: url })),
    );
    line(
      `bare_cluster.ts: ${PAYLOAD === "1" ? "rows in the notes" : "ids in the notes"}`,
      await roundTrips(
        `${bareB.base}/run`,
        `${bareA.base.replace("http", "ws")}/ws`,
        null,
        JSON.stringify({ flow: { in: { value: "x" } } }),
      ),
      floor.p50,
    );
    await Promise.all([bareA.stop(), bareB.stop()]);
  }
  const m = await mint(mem);
  line(
    "one instance on :memory: (no database)",
    await measuredTrips(
      [mem],
      `${mem.base}/v1/tasks`,
      `${mem.wsBase}/v1/operators/${m.sid}/ws`,
      m.token,
      spawnTask(m.role),
    ),
    floor.p50,
  );
  const one = await mint(a);
  line(
    "one instance on PG: seat on A, run on A",
    await measuredTrips(
      [a],
      `${a.base}/v1/tasks`,
      `${a.wsBase}/v1/operators/${one.sid}/ws`,
      one.token,
      spawnTask(one.role),
    ),
    floor.p50,
  );
  const cross = await mint(a);
  await untilKnown(b, cross.sid, cross.token);
  line(
    "cross-instance: seat on A, run on B",
    await measuredTrips(
      [a, b],
      `${b.base}/v1/tasks`,
      `${a.wsBase}/v1/operators/${cross.sid}/ws`,
      cross.token,
      spawnTask(cross.role),
    ),
    floor.p50,
  );
  console.log(`# load after: ${load()}`);
}

if (PARTS.includes("runs")) {
  console.log(
    `# runs/s: ${C} clients loop POST /v1/tasks (stored 3-step identity blueprint) for ${SECS} s, load ${load()}`,
  );
  const id = `tp-${crypto.randomUUID().slice(0, 8)}`;
  const bp = JSON.stringify(identityBlueprint(id));
  for (const on of [a, mem]) {
    const r = await post(`${on.base}/v1/blueprints/${id}`, bp);
    if (r.status !== 201 && r.status !== 200) throw new Error(`blueprint on ${on.id}: ${r.status}`);
    await r.body?.cancel();
  }
  const body = JSON.stringify({ blueprint: { kind: "id", id }, init_ctx: {} });
  const ok = (j: unknown) =>
    (j as { final_ctx?: { s3?: { echoed?: string } } } | null)?.final_ctx?.s3?.echoed === "v3";
  let pg: number[] = [];
  /**
   * Drives `urls` and shows runs/s with the CPU each run cost the instances and
   * PostgreSQL, and the transactions a run cost (runs share their batches).
   */
  const show = async (label: string, on: Instance[], urls: string[]) => {
    const pids = on.map((i) => i.pid);
    const [before, pgBefore, txBefore] = [cpuMs(pids), cpuMs(pg), await commits()];
    const r = await drive(urls, body, ok);
    const runs = r.perSec * SECS;
    const cpu = (cpuMs(pids) - before) / runs;
    const tx = (await commits() - txBefore) / runs;
    const db = `, PostgreSQL ${((cpuMs(pg) - pgBefore) / runs).toFixed(2)}; ` +
      `transactions a run ${tx.toFixed(2)}`;
    console.log(
      `  ${label.padEnd(44)} ${r.perSec.toFixed(0).padStart(6)} runs/s (${r.bad} bad); ` +
        `CPU ms a run: instances ${cpu.toFixed(2)}${on === memOnly ? "" : db}`,
    );
  };
  const memOnly = [mem];
  // warm both instances up first (compile caches, connections)
  await drive([`${a.base}/v1/tasks`, `${b.base}/v1/tasks`], body, ok);
  pg = await pgPids(url); // after the warm-up: the pools' connections are open
  await show("one instance on :memory: (no database)", memOnly, [`${mem.base}/v1/tasks`]);
  await show("one instance on PG: all on A", [a], [`${a.base}/v1/tasks`]);
  await show("two instances on PG: half on A, half on B", [a, b], [
    `${a.base}/v1/tasks`,
    `${b.base}/v1/tasks`,
  ]);
  await show("one instance on PG again: all on A", [a], [`${a.base}/v1/tasks`]);
  console.log(`# load after: ${load()}`);
}

await stats.end();
for (const i of [a, b, mem]) await i.kill("SIGKILL");
Deno.exit(0);
