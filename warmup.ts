/**
 * The boot warm-up: before the server says it is ready, it drives its own hot
 * paths (`POST /v1/tasks` with an operator `spawn`, and a run of in-process
 * steps) over real loopback HTTP and WebSocket, on throwaway apps with no logs and
 * in-memory stores (KV stores on a throwaway file, removed after, when the
 * server runs on a KV file), so V8 has compiled them before the first real request.
 * Nothing of it reaches the real stores, metrics or logs. `SWITCHBOARD_WARMUP`
 * sets the rounds (0 turns it off); it stops early after {@link WARMUP_MAX_MS}.
 *
 * The rounds are split over two apps, one after the other. Code V8 compiles
 * while one app runs is tied to that app's closures (a call site that has seen
 * one function object inlines that object), so the real app, whose closures are
 * new, threw it away on its first requests (69 deoptimizations, "wrong call
 * target") and spent 1.5 to 2 times the server CPU a round trip of later ones
 * for its first ~1,000. A call site that has seen two closures of one function
 * compiles for any closure of it, the real app's included.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { createApp } from "./app.ts";
import { openDeps } from "./boot.ts";

/** The most a warm-up may take, whatever the rounds. */
export const WARMUP_MAX_MS = 2_000;

const ROLE = "warmup";
const SPAWN_BLUEPRINT = {
  id: "warmup-spawn",
  operators: [{ name: ROLE }],
  agents: [{ name: "impl", kind: "operator", spec: { operator_ref: ROLE } }],
  flow: {
    kind: "step",
    ref: "impl",
    in: { op: "lit", value: "x" },
    out: { op: "path", at: "$.r" },
  },
};
const identityStep = (i: number) => ({
  kind: "step",
  ref: "identity",
  in: { op: "lit", value: `v${i}` },
  out: { op: "path", at: `$.s${i}` },
});
const IDENTITY_BLUEPRINT = {
  id: "warmup-identity",
  agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
  flow: { kind: "seq", children: [identityStep(1), identityStep(2), identityStep(3)] },
};

/** What a warm-up did. */
export interface WarmUpReport {
  /** Rounds completed (each: one spawn round trip and one in-process run). */
  rounds: number;
  ms: number;
  /** Why it stopped early, if it failed. */
  error?: string;
}

/**
 * Runs `rounds` of each hot path on two throwaway apps. Never throws: a failed
 * warm-up only costs speed.
 */
export async function warmUp(config: Config, rounds: number): Promise<WarmUpReport> {
  const started = Date.now();
  const report: WarmUpReport = { rounds: 0, ms: 0 };
  if (rounds <= 0) return report;
  try {
    const half = Math.ceil(rounds / 2);
    report.rounds = await drive(config, half, started + WARMUP_MAX_MS / 2);
    if (rounds > half) {
      report.rounds += await drive(config, rounds - half, started + WARMUP_MAX_MS);
    }
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
  }
  report.ms = Date.now() - started;
  return report;
}

/** A throwaway server on loopback, driven until `rounds` or `deadline`; returns the rounds done. */
async function drive(config: Config, rounds: number, deadline: number): Promise<number> {
  // A server on a KV file warms its KV write path too, on a throwaway file.
  const onKvFile = config.kvPath !== ":memory:" && config.databaseUrl === undefined;
  const dir = onKvFile ? await Deno.makeTempDir({ prefix: "switchboard-warmup-" }) : undefined;
  try {
    return await driveOn(
      config,
      dir === undefined ? ":memory:" : `${dir}/warmup.kv`,
      rounds,
      deadline,
    );
  } finally {
    if (dir !== undefined) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function driveOn(
  config: Config,
  kvPath: string,
  rounds: number,
  deadline: number,
): Promise<number> {
  const deps = await openDeps({
    ...config,
    host: "127.0.0.1",
    port: 0,
    kvPath,
    databaseUrl: undefined,
    apiToken: undefined,
    // a key of its own: no token it mints is signed with the server's
    secretHex: undefined,
    logLevel: "error",
    allowedHosts: undefined,
    wsFrameRate: undefined, // its own socket, at full speed: never held to a low limit
  });
  const stop = new AbortController();
  let socket: WebSocket | undefined;
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: stop.signal,
      onListen() {},
    }, createApp(deps).fetch);
    const base = deps.config.publicUrl = `http://127.0.0.1:${server.addr.port}`;
    socket = await seat(base);
    await post(
      `${base}/v1/blueprints/${IDENTITY_BLUEPRINT.id}`,
      JSON.stringify(IDENTITY_BLUEPRINT),
    );
    const spawn = taskBody({ kind: "inline", value: SPAWN_BLUEPRINT }, {});
    const identity = taskBody({ kind: "id", id: IDENTITY_BLUEPRINT.id }, {});
    let done = 0;
    while (done < rounds && Date.now() < deadline) {
      await post(`${base}/v1/tasks`, spawn);
      await post(`${base}/v1/tasks`, identity);
      done++;
    }
    return done;
  } finally {
    socket?.close();
    stop.abort();
    await server?.finished;
    await deps.close();
  }
}

function taskBody(blueprint: unknown, init: unknown): string {
  return JSON.stringify({ blueprint, init_ctx: init });
}

async function post(url: string, body: string): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await res.body?.cancel();
  if (res.status !== 200 && res.status !== 201) {
    throw new Error(`warm-up: ${url} answered ${res.status}`);
  }
}

/** Mints a seat for the warm-up role and answers every `spawn` at once. */
async function seat(base: string): Promise<WebSocket> {
  const res = await fetch(`${base}/v1/operators`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ roles: [ROLE] }),
  });
  const { sid, token } = await res.json() as { sid: string; token: string };
  const socket = new WebSocket(`${base.replace("http", "ws")}/v1/operators/${sid}/ws`, [
    "bearer",
    token,
  ]);
  socket.onmessage = (e) => {
    const frame = JSON.parse(e.data) as { type: string; req_id: string };
    if (frame.type !== "spawn") return;
    socket.send(JSON.stringify({
      type: "spawn_ack",
      req_id: frame.req_id,
      value: { ok: 1 },
      ok: true,
    }));
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("warm-up: the operator socket did not open"));
  });
  return socket;
}
