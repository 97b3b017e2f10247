// Server CPU a spawn round trip, for two servers at once: each is driven in
// turn (one round trip on A, one on B, ...), so both see the same noise on a
// shared machine. CPU is utime + stime of /proc/<pid>/stat over each phase.
// TARGETS='[{"name":"main","base":"http://127.0.0.1:P","pid":"PID"},...]' N=1000
interface Target {
  name: string;
  base: string;
  pid: string;
}
import { spawnBlueprint } from "../_blueprints.ts";

const targets = JSON.parse(Deno.env.get("TARGETS")!) as Target[];
const N = Number(Deno.env.get("N") ?? 1000);

/** CPU time of a process so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: string): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function connect(t: Target) {
  const minted = await fetch(`${t.base}/v1/operators`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ roles: ["paired-cpu"] }),
  });
  const seat = await minted.json();
  const role = seat.roles[0];
  const blueprint = spawnBlueprint("paired-cpu", role);
  // Deno takes `{ headers }` as the second argument (the DOM types do not say so)
  const init = { headers: { authorization: `Bearer ${seat.token}` } } as unknown as string[];
  const ws = new WebSocket(`${t.base.replace("http", "ws")}/v1/operators/${seat.sid}/ws`, init);
  await new Promise((r, j) => {
    ws.onopen = r;
    ws.onerror = j;
  });
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.type === "spawn") {
      ws.send(JSON.stringify({ type: "spawn_ack", req_id: f.req_id, value: { ok: 1 }, ok: true }));
    }
  };
  const body = JSON.stringify({ blueprint: { kind: "inline", value: blueprint }, init_ctx: {} });
  return { t, ws, body, times: [] as number[] };
}

const runs = [];
for (const t of targets) runs.push(await connect(t));
for (const phase of ["cold", "warm", "warm2"]) {
  const before = runs.map((r) => cpuMs(r.t.pid));
  for (const r of runs) r.times = [];
  for (let i = 0; i < N; i++) {
    for (const r of runs) {
      const started = performance.now();
      const res = await fetch(`${r.t.base}/v1/tasks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: r.body,
      });
      if (res.status !== 200) throw new Error(`${r.t.name}: ${res.status} ${await res.text()}`);
      await res.json();
      r.times.push(performance.now() - started);
    }
  }
  const after = runs.map((r) => cpuMs(r.t.pid));
  console.log(
    `${phase}: ` + runs.map((r, i) => {
      r.times.sort((a, b) => a - b);
      const p50 = (r.times[N >> 1] * 1000).toFixed(0);
      const cpu = ((after[i] - before[i]) * 1000 / N).toFixed(0);
      return `${r.t.name} p50 ${p50} µs, server cpu ${cpu} µs/rt`;
    }).join(" | "),
  );
}
for (const r of runs) r.ws.close();
