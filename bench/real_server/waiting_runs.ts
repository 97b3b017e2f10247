// Memory at scale: N async runs (POST /v1/runs), each waiting on an operator spawn, held at once.
// Reads the server's RSS (VmRSS of SERVER_PID) before and while all N wait, then acks them all and
// checks that every run succeeds. Goal: RSS while waiting <= GOAL_MB.
const BASE = Deno.env.get("BASE")!;
const N = Number(Deno.env.get("N") ?? 1000);
const GOAL_MB = Number(Deno.env.get("GOAL_MB") ?? 200);
const pid = Deno.env.get("SERVER_PID");
const rssMb = () => {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024;
};
function fail(m: string): never {
  console.log(`waiting runs: FAILED: ${m}`);
  Deno.exit(1);
}
const cmdline = (() => {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
})();
if (!cmdline.includes("main.ts")) {
  fail(`SERVER_PID ${pid} is not the server process (cmdline: ${cmdline.slice(0, 120)})`);
}
const mr = await fetch(`${BASE}/v1/operators`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ roles: [`wr-${crypto.randomUUID().slice(0, 6)}`] }),
});
const m = await mr.json();
if (mr.status !== 200) fail(`mint ${mr.status}`);
const role = m.roles[0];
// `as`: Deno's WebSocket takes an options object with headers (not in the DOM typing)
const wsInit = { headers: { authorization: `Bearer ${m.token}` } } as unknown as string[];
const ws = new WebSocket(`${BASE.replace("http", "ws")}/v1/operators/${m.sid}/ws`, wsInit);
await new Promise((r, j) => {
  ws.onopen = r;
  ws.onerror = j;
});
const spawns: Array<{ req_id: string }> = [];
ws.onmessage = (e) => {
  const f = JSON.parse(e.data);
  if (f.type === "spawn") spawns.push(f);
};
const before = rssMb();
const bp = {
  id: "waiting",
  operators: [{ name: role }],
  agents: [{ name: "impl", kind: "operator", spec: { operator_ref: role } }],
  flow: {
    kind: "step",
    ref: "impl",
    in: { op: "path", at: "$.i" },
    out: { op: "path", at: "$.r" },
  },
};
const ids: string[] = [];
for (let i = 0; i < N; i += 50) {
  const batch = await Promise.all(Array.from({ length: Math.min(50, N - i) }, async (_, k) => {
    const r = await fetch(`${BASE}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        blueprint: { kind: "inline", value: bp },
        init_ctx: { i: i + k, pad: "x".repeat(512) },
      }),
    });
    const j = await r.json();
    if (r.status !== 202) fail(`POST /v1/runs ${r.status} ${JSON.stringify(j)}`);
    return j.run_id as string;
  }));
  ids.push(...batch);
}
const t0 = Date.now();
while (spawns.length < N && Date.now() - t0 < 60000) await new Promise((r) => setTimeout(r, 50));
if (spawns.length < N) fail(`only ${spawns.length}/${N} spawns arrived`);
await new Promise((r) => setTimeout(r, 500));
const waiting = rssMb();
for (const f of spawns) {
  ws.send(JSON.stringify({ type: "spawn_ack", req_id: f.req_id, value: { done: true }, ok: true }));
}
let done = 0;
const t1 = Date.now();
for (const id of ids) {
  for (;;) {
    const r = await fetch(`${BASE}/v1/runs/${id}`);
    const j = await r.json();
    if (j.status === "succeeded") {
      done++;
      break;
    }
    if (j.status !== "running" || Date.now() - t1 > 60000) {
      fail(`run ${id} ended ${j.status}: ${JSON.stringify(j.error ?? "")}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
ws.close();
console.log(
  `waiting runs: ${N} held, RSS ${before.toFixed(0)} MB before -> ${
    waiting.toFixed(0)
  } MB while waiting (${
    ((waiting - before) * 1024 / N).toFixed(1)
  } KiB a run), ${done}/${N} succeeded after the acks (goal <= ${GOAL_MB} MB)`,
);
Deno.exit(waiting <= GOAL_MB && done === N ? 0 : 1);
