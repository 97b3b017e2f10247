// The server's CPU a run, by thread, read from /proc/<SERVER_PID>/task: less noisy than wall-clock
// figures on a loaded machine (time the server waits for a core is not counted). After a warm-up,
// drives N runs of one case and prints the CPU time of the main thread (`deno`), of V8's helper
// threads (GC, compiler) and of Deno KV's SQLite thread, in µs a run.
//   SB_KV=file MODE=spawn bench/real_server/perf.sh server_cpu       # sequential spawn round trips
//   SB_KV=file MODE=throughput bench/real_server/perf.sh server_cpu  # 16 clients, 3-step runs
import { identityBlueprint, spawnBlueprint } from "../_blueprints.ts";

const BASE = Deno.env.get("BASE")!;
const PID = Deno.env.get("SERVER_PID")!;
const MODE = Deno.env.get("MODE") ?? "spawn";
const N = Number(Deno.env.get("N") ?? (MODE === "spawn" ? 2000 : 6000));
const WARMUP = Number(Deno.env.get("WARMUP") ?? (MODE === "spawn" ? 500 : 3000));
const TICK_US = 1e6 / 100; // USER_HZ

/** CPU ticks per thread name (user + system), summed over threads of one name. */
function threads(): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of Deno.readDirSync(`/proc/${PID}/task`)) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${PID}/task/${entry.name}/stat`);
    } catch {
      continue; // the thread ended
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(name, (out.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
  }
  return out;
}

const json = { "content-type": "application/json" };
let drive: (n: number) => Promise<void>;
let close = () => {};
if (MODE === "spawn") {
  const mr = await fetch(`${BASE}/v1/operators`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ roles: [`cpu-${crypto.randomUUID().slice(0, 6)}`] }),
  });
  const seat = await mr.json();
  const role = seat.roles[0];
  const bp = spawnBlueprint("cpu", role);
  const ws = new WebSocket(`${BASE.replace("http", "ws")}/v1/operators/${seat.sid}/ws`, [
    "bearer",
    seat.token,
  ]);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  ws.onmessage = (e) => {
    const frame = JSON.parse(e.data);
    if (frame.type !== "spawn") return;
    ws.send(
      JSON.stringify({ type: "spawn_ack", req_id: frame.req_id, value: { ok: 1 }, ok: true }),
    );
  };
  const body = JSON.stringify({ blueprint: { kind: "inline", value: bp }, init_ctx: {} });
  drive = async (n) => {
    for (let i = 0; i < n; i++) {
      const r = await fetch(`${BASE}/v1/tasks`, { method: "POST", headers: json, body });
      if (r.status !== 200) throw new Error(`POST /v1/tasks answered ${r.status}`);
      await r.body?.cancel();
    }
  };
  close = () => ws.close();
} else {
  const id = `cpu-${crypto.randomUUID().slice(0, 8)}`;
  const bp = identityBlueprint(id);
  const put = await fetch(`${BASE}/v1/blueprints/${id}`, {
    method: "POST",
    headers: json,
    body: JSON.stringify(bp),
  });
  await put.body?.cancel();
  const body = JSON.stringify({ blueprint: { kind: "id", id }, init_ctx: {} });
  drive = async (n) => {
    let left = n;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (left-- > 0) {
        const r = await fetch(`${BASE}/v1/tasks`, { method: "POST", headers: json, body });
        if (r.status !== 200) throw new Error(`POST /v1/tasks answered ${r.status}`);
        await r.body?.cancel();
      }
    }));
  };
}

await drive(WARMUP);
await new Promise((r) => setTimeout(r, 300));
const before = threads();
const t0 = performance.now();
await drive(N);
const ms = performance.now() - t0;
await new Promise((r) => setTimeout(r, 300)); // commits in flight land
const after = threads();
close();
const parts: string[] = [];
let total = 0;
for (const [name, ticks] of after) {
  const used = ticks - (before.get(name) ?? 0);
  total += used;
  if (used > 0) parts.push(`${name.trim()} ${(used * TICK_US / N).toFixed(0)}`);
}
console.log(
  `server CPU a run (${MODE}, ${N} runs, ${(N / ms * 1000).toFixed(0)}/s): ` +
    `${(total * TICK_US / N).toFixed(0)} µs (${parts.join(", ")})`,
);
