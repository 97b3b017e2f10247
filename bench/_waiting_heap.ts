// Heap per waiting run, in-process: N runs parked on an operator spawn (a fake socket).
import { createDeps, defaultConfig } from "../deps.ts";
import { openDeps } from "../boot.ts";
import { mintSeat } from "../session/seats.ts";
import { prepareRun } from "../engine/mod.ts";
import { checkTaskBody } from "../routes/_task_body.ts";

const N = Number(Deno.env.get("N") ?? 5000);
const kvPath = Deno.env.get("KV");
const deps = kvPath
  ? await openDeps(defaultConfig({ kvPath, logLevel: "error" }))
  : await createDeps({ config: { logLevel: "error" } });
const rss = () => Deno.memoryUsage().rss / 1024 / 1024;
const rss0 = rss();
const { sid } = await mintSeat(deps, ["wr"]);
const session = deps.sessions.get(sid)!;
let spawns = 0;
const socket = {
  readyState: WebSocket.OPEN,
  send() {
    spawns++;
  },
  close() {},
} as unknown as WebSocket;
session.attach(socket);
const bp = {
  id: "waiting",
  operators: [{ name: "wr" }],
  agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "wr" } }],
  flow: {
    kind: "step",
    ref: "impl",
    in: { op: "path", at: "$.i" },
    out: { op: "path", at: "$.r" },
  },
};
const gc = (globalThis as unknown as { gc(): void }).gc;
const env = { operators: deps.operators, blueprints: deps.stores.blueprints, warn() {} };
gc();
const before = Deno.memoryUsage().heapUsed;
for (let i = 0; i < N; i++) {
  const body = checkTaskBody(JSON.parse(JSON.stringify({
    blueprint: { kind: "inline", value: bp },
    init_ctx: { i, pad: "x".repeat(512) },
  })))!;
  deps.engine.start(await prepareRun(env, body));
}
while (spawns < N) await new Promise((r) => setTimeout(r, 10));
await new Promise((r) => setTimeout(r, 100));
const t0 = performance.now();
await deps.engine.durable();
console.log(`durable after ${(performance.now() - t0).toFixed(0)} ms`);
gc();
const after = Deno.memoryUsage().heapUsed;
if (Deno.env.get("SNAP")) (await import("node:v8")).default.writeHeapSnapshot(Deno.env.get("SNAP"));
console.log(
  `${N} waiting runs: heap ${((after - before) / N / 1024).toFixed(2)} KiB a run; ` +
    `rss ${rss0.toFixed(0)} -> ${rss().toFixed(0)} MB (${
      ((rss() - rss0) * 1024 / N).toFixed(1)
    } KiB a run)`,
);
Deno.exit(0);
