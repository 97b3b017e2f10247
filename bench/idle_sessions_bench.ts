/**
 * Issue 3: 10,000 idle operator sessions connected to one process: memory per
 * session (target ≤ 20 KiB) and connect rate.
 *
 * Three processes, so the numbers belong to the server alone and neither side
 * needs more than ~10,100 file descriptors (`ulimit -n`; the default hard limit
 * of 20,000 here is enough, raise it with `ulimit -n 20000` if yours is lower):
 *
 * 1. `deno bench` runs the bench below, which starts
 * 2. this file as a server (`deno run --v8-flags=--expose-gc … server N`): a real
 *    app (createDeps + createApp, in-memory store) on port 0. It forces a GC and
 *    reads `Deno.memoryUsage()` before minting, after minting N seats, and after
 *    N sockets are connected, and it starts
 * 3. this file as a client (`… clients PORT FILE`), which opens N operator sockets
 *    (Deno `WebSocket`, `Authorization: Bearer`), 128 handshakes at a time, and
 *    reports how long that took. The sockets stay open and idle until the server
 *    has measured.
 *
 * The same client against a bare `Deno.serve` + `Deno.upgradeWebSocket` server
 * (no seats) is the baseline: what an idle socket costs Deno itself.
 *
 * The figures are printed as JSON (one line per pass; deno bench runs an `n: 1`
 * case up to three times, which gives three samples). The bench's own time is
 * the whole pass (process start, mint, connect, GC), not a figure to compare.
 *
 * @module
 */
import { createDeps } from "../deps.ts";
import { createApp } from "../app.ts";
import { mintSeat } from "../session/seats.ts";

const SESSIONS = 10_000;
const CONCURRENCY = 128;

interface MemorySnapshot {
  heapUsed: number;
  rss: number;
  external: number;
}

/** What the server pass reports. */
interface IdleReport {
  server: "switchboard" | "bare";
  sessions: number;
  gc: boolean;
  mint_ms: number;
  connect_ms: number;
  connects_per_sec: number;
  per_seat_minted_kib: { heap: number; rss: number };
  per_session_connected_kib: { heap: number; heap_external: number; rss: number };
  socket_only_kib: { heap: number; rss: number };
}

function collect(): boolean {
  // `gc` exists only under --expose-gc, which the global type does not declare.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  for (let i = 0; i < 3; i++) gc();
  return true;
}

function snapshot(): MemorySnapshot {
  collect();
  const m = Deno.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external };
}

const kib = (bytes: number, n: number) => Math.round((bytes / n / 1024) * 100) / 100;

/** A bare `Deno.upgradeWebSocket` server that keeps its sockets in a Set (the baseline). */
function bareHandler(live: Set<WebSocket>) {
  return (req: Request): Response => {
    if (req.headers.get("upgrade") !== "websocket") return new Response("ok");
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => live.add(socket);
    socket.onclose = () => live.delete(socket);
    socket.onmessage = () => {};
    return response;
  };
}

async function serverPass(n: number, kind: "switchboard" | "bare"): Promise<IdleReport> {
  const deps = await createDeps();
  const bareLive = new Set<WebSocket>();
  const handler = kind === "bare" ? bareHandler(bareLive) : createApp(deps).fetch;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const m0 = snapshot();

  const minted: string[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    if (kind === "bare") {
      minted.push(`op-${i} x`);
      continue;
    }
    const seat = await mintSeat(deps, []);
    minted.push(`${seat.sid} ${seat.token}`);
  }
  const mintMs = performance.now() - started;
  const m1 = snapshot();

  const file = await Deno.makeTempFile({ prefix: "switchboard-seats-" });
  await Deno.writeTextFile(file, minted.join("\n"));
  minted.length = 0;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "clients", String(server.addr.port), file],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const clientLine = await lines.read();
  const client = JSON.parse(clientLine.value ?? "{}") as { connected: number; ms: number };
  const liveCount = () =>
    kind === "bare" ? bareLive.size : [...deps.sessions.values()].filter((s) => s.connected).length;
  const until = performance.now() + 10_000;
  while (liveCount() < n && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const live = liveCount();
  if (live !== n || client.connected !== n) {
    throw new Error(`only ${live} (server) / ${client.connected} (client) of ${n} connected`);
  }
  const m2 = snapshot();

  const writer = child.stdin.getWriter();
  await writer.close();
  await lines.cancel();
  await child.status;
  await Deno.remove(file);
  for (const session of deps.sessions.values()) session.closeSocket(1001, "bench over");
  for (const socket of bareLive) socket.close(1001, "bench over");
  await server.shutdown();

  return {
    server: kind,
    sessions: n,
    gc: collect(),
    mint_ms: Math.round(mintMs),
    connect_ms: Math.round(client.ms),
    connects_per_sec: Math.round(n / (client.ms / 1000)),
    per_seat_minted_kib: {
      heap: kib(m1.heapUsed - m0.heapUsed, n),
      rss: kib(m1.rss - m0.rss, n),
    },
    per_session_connected_kib: {
      heap: kib(m2.heapUsed - m0.heapUsed, n),
      heap_external: kib(m2.heapUsed + m2.external - m0.heapUsed - m0.external, n),
      rss: kib(m2.rss - m0.rss, n),
    },
    socket_only_kib: {
      heap: kib(m2.heapUsed - m1.heapUsed, n),
      rss: kib(m2.rss - m1.rss, n),
    },
  };
}

async function clientPass(port: string, file: string): Promise<void> {
  const seats = (await Deno.readTextFile(file)).split("\n").map((line) => line.split(" "));
  const sockets: WebSocket[] = [];
  let next = 0;
  let connected = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < seats.length) {
      const [sid, token] = seats[next++];
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      // Deno's WebSocket takes an options object with headers (not in the DOM typing).
      const init = { headers: { authorization: `Bearer ${token}` } } as unknown as string[];
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/operators/${sid}/ws`, init);
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`socket for ${sid} failed`));
      ws.onmessage = () => {};
      await promise;
      ws.onerror = () => {};
      sockets.push(ws);
      connected++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - started;
  // The server counts live sessions itself; give its `onopen` handlers a moment
  // by waiting until it answers a fresh request.
  await (await fetch(`http://127.0.0.1:${port}/v1/healthz`)).text();
  console.log(JSON.stringify({ connected, ms }));
  // Hold the sockets until the server closes our stdin.
  for await (const _ of Deno.stdin.readable) {
    // drain
  }
  Deno.exit(0);
}

async function runServerChild(n: number, kind: "switchboard" | "bare"): Promise<IdleReport> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", import.meta.filename!, kind, String(n)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`server pass failed: ${text}`);
  return JSON.parse(text.split("\n").at(-1)!) as IdleReport;
}

if (Deno.args[0] === "switchboard" || Deno.args[0] === "bare") {
  console.log(JSON.stringify(await serverPass(Number(Deno.args[1] ?? SESSIONS), Deno.args[0])));
  Deno.exit(0);
} else if (Deno.args[0] === "clients") {
  await clientPass(Deno.args[1], Deno.args[2]);
} else {
  Deno.bench({
    name: `${SESSIONS.toLocaleString("en-US")} idle sockets, bare Deno server (printed)`,
    group: "10,000 idle sessions",
    baseline: true,
    n: 1,
    warmup: 0,
    async fn() {
      console.log(`  ${JSON.stringify(await runServerChild(SESSIONS, "bare"))}`);
    },
  });
  Deno.bench({
    name: `${SESSIONS.toLocaleString("en-US")} idle operator sessions (printed)`,
    group: "10,000 idle sessions",
    n: 1,
    warmup: 0,
    async fn() {
      console.log(`  ${JSON.stringify(await runServerChild(SESSIONS, "switchboard"))}`);
    },
  });
}
