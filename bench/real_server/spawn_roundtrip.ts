// Sequential spawn round trips: POST a run -> spawn frame -> spawn_ack -> 200,
// through the landed server and through bare_server.ts, in the same run.
const BASE = Deno.env.get("BASE")!;
const N = Number(Deno.env.get("N") ?? 300);
const GOAL = Number(Deno.env.get("GOAL") ?? 2.0);

async function measure(
  postUrl: string,
  wsUrl: string,
  wsInit: unknown,
  body: (i: number) => unknown,
) {
  // @ts-ignore Deno accepts headers
  const ws = new WebSocket(wsUrl, wsInit);
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
  const times: number[] = [];
  for (let i = 0; i < N + 30; i++) {
    const t = performance.now();
    const r = await fetch(postUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body(i)),
    });
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

globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.log(`spawn round trip: FAILED: ${e.reason?.message ?? e.reason}`);
  Deno.exit(1);
});
const mr = await fetch(`${BASE}/v1/operators`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ roles: [`perf-${crypto.randomUUID().slice(0, 6)}`] }),
});
const m = await mr.json().catch(() => null);
if (mr.status !== 200 || !m?.sid) {
  console.log(`spawn round trip: FAILED: mint answered ${mr.status}`);
  Deno.exit(1);
}
const role = m.roles[0];
const bp = {
  id: "perf",
  operators: [{ name: role }],
  agents: [{ name: "impl", kind: "operator", spec: { operator_ref: role } }],
  flow: {
    kind: "step",
    ref: "impl",
    in: { op: "lit", value: "x" },
    out: { op: "path", at: "$.r" },
  },
};
const ours = await measure(
  `${BASE}/v1/tasks`,
  `${BASE.replace("http", "ws")}/v1/operators/${m.sid}/ws`,
  { headers: { authorization: `Bearer ${m.token}` } },
  () => ({ blueprint: { kind: "inline", value: bp }, init_ctx: {} }),
);

const port = 40000 + Math.floor(Math.random() * 20000);
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./bare_server.ts", import.meta.url).pathname],
  env: { PORT: String(port) },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const reader = child.stdout.getReader();
await reader.read();
reader.releaseLock();
const bare = await measure(
  `http://127.0.0.1:${port}/run`,
  `ws://127.0.0.1:${port}/ws`,
  undefined,
  () => ({ blueprint: { kind: "inline", value: bp }, init_ctx: {}, flow: bp.flow }),
);
child.kill();
await child.status;

const ratio = ours.p50 / bare.p50;
console.log(
  `spawn round trip p50: switchboard ${ours.p50.toFixed(0)} µs (p99 ${ours.p99.toFixed(0)}), bare ${
    bare.p50.toFixed(0)
  } µs (p99 ${bare.p99.toFixed(0)}), ratio ${ratio.toFixed(2)} (goal <= ${GOAL})`,
);
Deno.exit(ratio <= GOAL ? 0 : 1);
