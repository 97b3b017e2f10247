// What the stick's order charges to the server: spawn round trips against the server at BASE and
// against bare_server.ts from ONE client process, in the order FIRST says (`bare` or `ours`), three
// rounds of 330 each (the first 30 of a round not counted). The stick measures `ours` first, so its
// figure for the server carries this client's own JIT warm-up.
//   BASE=http://127.0.0.1:7777 FIRST=bare deno run -A bench/real_server/stick_order.ts
import { spawnBlueprint } from "../_blueprints.ts";

const BASE = Deno.env.get("BASE")!;
const FIRST = Deno.env.get("FIRST") ?? "bare";
const N = 300;

async function measure(post: string, ws: string, init: unknown, body: unknown): Promise<string> {
  // @ts-ignore Deno's WebSocket takes headers
  const socket = new WebSocket(ws, init);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  socket.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.type !== "spawn") return;
    socket.send(
      JSON.stringify({ type: "spawn_ack", req_id: f.req_id, value: { ok: 1 }, ok: true }),
    );
  };
  const rounds: string[] = [];
  for (let round = 0; round < 3; round++) {
    const times: number[] = [];
    for (let i = 0; i < N + 30; i++) {
      const t = performance.now();
      const res = await fetch(post, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      await res.json();
      if (i >= 30) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    rounds.push((times[N >> 1] * 1000).toFixed(0));
  }
  socket.close();
  return `${rounds.join(" ")} µs`;
}

const minted = await (await fetch(`${BASE}/v1/operators`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ roles: [`order-${crypto.randomUUID().slice(0, 6)}`] }),
})).json();
const role = minted.roles[0];
const bp = spawnBlueprint("order", role);
const port = 40000 + Math.floor(Math.random() * 20000);
const bare = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./bare_server.ts", import.meta.url).pathname],
  env: { PORT: String(port) },
  stdout: "piped",
}).spawn();
const reader = bare.stdout.getReader();
await reader.read();
reader.releaseLock();
const runBare = () =>
  measure(`http://127.0.0.1:${port}/run`, `ws://127.0.0.1:${port}/ws`, undefined, {
    blueprint: { kind: "inline", value: bp },
    init_ctx: {},
    flow: bp.flow,
  });
const runOurs = () =>
  measure(
    `${BASE}/v1/tasks`,
    `${BASE.replace("http", "ws")}/v1/operators/${minted.sid}/ws`,
    { headers: { authorization: `Bearer ${minted.token}` } },
    { blueprint: { kind: "inline", value: bp }, init_ctx: {} },
  );
if (FIRST === "bare") console.log(`bare first: ${await runBare()}; ours: ${await runOurs()}`);
else console.log(`ours first: ${await runOurs()}; bare: ${await runBare()}`);
bare.kill();
await bare.status;
