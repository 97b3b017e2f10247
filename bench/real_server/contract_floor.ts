/**
 * The spawn round trip of `spawn_roundtrip.ts` through three servers: the landed
 * one (BASE), `bare_contract.ts` (only what the contract requires of this path)
 * and `bare_server.ts` (the stick's floor). Two passes:
 *
 * - **blocks:** N+30 round trips on each in turn, as the stick measures;
 * - **interleaved:** one round trip on each in turn, N times, so a change in the
 *   machine's speed falls on all three alike.
 *
 * Prints the p50 of each and its ratio to the bare floor. Run through `perf.sh`
 * from the project root: `bench/real_server/perf.sh contract_floor`.
 *
 * @module
 */
import { spawnAcker, spawnBlueprint } from "../_blueprints.ts";

const BASE = Deno.env.get("BASE")!;
const N = Number(Deno.env.get("N") ?? 600);
const here = new URL(".", import.meta.url).pathname;

interface Target {
  name: string;
  post: string;
  body: string;
  ws: WebSocket;
  times: number[];
}

async function open(
  name: string,
  post: string,
  wsUrl: string,
  token: string | undefined,
  body: unknown,
) {
  const ws = await spawnAcker(wsUrl, token);
  return { name, post, body: JSON.stringify(body), ws, times: [] } as Target;
}

async function roundTrip(t: Target): Promise<number> {
  const started = performance.now();
  const r = await fetch(t.post, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: t.body,
  });
  const j = await r.json();
  if (r.status !== 200 || JSON.stringify(j.final_ctx) !== '{"r":{"ok":1}}') {
    throw new Error(`${t.name}: bad answer ${r.status} ${JSON.stringify(j)}`);
  }
  return performance.now() - started;
}

function p50(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] * 1000;
}

async function floor(script: string): Promise<{ port: number; child: Deno.ChildProcess }> {
  const port = 40000 + Math.floor(Math.random() * 20000);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${here}${script}`],
    env: { PORT: String(port) },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  return { port, child };
}

const minted = await (await fetch(`${BASE}/v1/operators`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ roles: [`perf-${crypto.randomUUID().slice(0, 6)}`] }),
})).json();
const bp = spawnBlueprint("perf", minted.roles[0]);
const body = { blueprint: { kind: "inline", value: bp }, init_ctx: {} };
const contract = await floor("bare_contract.ts");
const bare = await floor("bare_server.ts");
const targets = [
  await open(
    "switchboard",
    `${BASE}/v1/tasks`,
    `${BASE.replace("http", "ws")}/v1/operators/${minted.sid}/ws`,
    minted.token,
    body,
  ),
  await open(
    "contract floor",
    `http://127.0.0.1:${contract.port}/run`,
    `ws://127.0.0.1:${contract.port}/ws`,
    undefined,
    body,
  ),
  await open(
    "bare floor",
    `http://127.0.0.1:${bare.port}/run`,
    `ws://127.0.0.1:${bare.port}/ws`,
    undefined,
    { ...body, flow: bp.flow },
  ),
];

function report(pass: string) {
  const floorP50 = p50(targets[2].times);
  const rows = targets.map((t) => {
    const value = p50(t.times);
    return `${t.name} ${value.toFixed(0)} µs (${(value / floorP50).toFixed(2)}×)`;
  });
  console.log(`${pass}: ${rows.join(", ")}`);
  for (const t of targets) t.times = [];
}

for (const t of targets) {
  for (let i = 0; i < N + 30; i++) {
    const ms = await roundTrip(t);
    if (i >= 30) t.times.push(ms);
  }
}
report("blocks");
for (let i = 0; i < N + 30; i++) {
  for (const t of targets) {
    const ms = await roundTrip(t);
    if (i >= 30) t.times.push(ms);
  }
}
report("interleaved");
for (const t of targets) t.ws.close();
for (const { child } of [contract, bare]) {
  child.kill();
  await child.status;
}
