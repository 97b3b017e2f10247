/**
 * Instances of a cluster as child processes, started the way `deno task start`
 * starts a server (same permissions), all on one database.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { openSocket, type TestSocket } from "../_helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

/** A running instance. */
export interface Instance extends AsyncDisposable {
  id: string;
  base: string;
  wsBase: string;
  pid: number;
  /** Everything printed to stderr so far (JSON log lines). */
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and waits for the exit unless it is SIGSTOP/SIGCONT. */
  kill(signal?: Deno.Signal): Promise<void>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number>;
}

/** Options of {@link startInstance}. */
export interface StartOptions {
  /** Extra environment. */
  env?: Record<string, string>;
  /** `SWITCHBOARD_RUN_LEASE_SECS`; default 1 (tests). */
  leaseSecs?: number;
}

/** Starts one instance `id` on `databaseUrl` and waits for its listening line. */
export async function startInstance(
  databaseUrl: string,
  id: string,
  options: StartOptions = {},
): Promise<Instance> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", MAIN.pathname],
    cwd: ROOT.pathname,
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      SWITCHBOARD_KV: "",
      SWITCHBOARD_DATABASE_URL: databaseUrl,
      SWITCHBOARD_INSTANCE_ID: id,
      SWITCHBOARD_RUN_LEASE_SECS: String(options.leaseSecs ?? 1),
      LOG_LEVEL: "info",
      NO_COLOR: "1",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (err += chunk) }),
  );
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let base: string | undefined;
  const deadline = AbortSignal.timeout(30_000);
  try {
    while (base === undefined) {
      deadline.throwIfAborted();
      const { value, done } = await lines.read();
      if (done) {
        await errDone.catch(() => {});
        throw new Error(`instance ${id} exited before listening: ${err}`);
      }
      stdout += value;
      base = /switchboard listening on (http:\/\/\S+)/.exec(stdout)?.[1];
    }
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await errDone.catch(() => {});
    throw e;
  }
  const outDone = (async () => {
    while (!(await lines.read()).done) { /* drain */ }
  })();
  const exited = (async () => {
    const { code } = await child.status;
    await Promise.all([outDone, errDone.catch(() => {})]);
    return code;
  })();
  let gone = false;
  const kill = async (signal: Deno.Signal = "SIGTERM") => {
    if (gone) return;
    try {
      child.kill(signal);
    } catch { /* already exited */ }
    if (signal === "SIGSTOP" || signal === "SIGCONT") return;
    gone = true;
    await exited;
  };
  return {
    id,
    base,
    wsBase: base.replace(/^http/, "ws"),
    pid: child.pid,
    stderr: () => err,
    kill,
    exited,
    [Symbol.asyncDispose]: async () => {
      try {
        child.kill("SIGCONT");
      } catch { /* exited */ }
      await kill("SIGKILL");
    },
  };
}

/** Starts `ids.length` instances at once on one database. */
export async function startCluster(
  databaseUrl: string,
  ids: string[],
  options: StartOptions = {},
): Promise<Instance[] & AsyncDisposable> {
  const settled = await Promise.allSettled(
    ids.map((id) => startInstance(databaseUrl, id, options)),
  );
  const list = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = settled.find((s) => s.status === "rejected");
  const all = Object.assign(list, {
    [Symbol.asyncDispose]: async () => {
      await Promise.all(list.map((i) => i[Symbol.asyncDispose]()));
    },
  });
  if (failed) {
    await all[Symbol.asyncDispose]();
    throw (failed as PromiseRejectedResult).reason;
  }
  return all;
}

/** GET `path` on an instance and parse the JSON body. */
export async function getJson<T = Record<string, unknown>>(
  base: string,
  path: string,
  bearer?: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

/** Polls `check` every 50 ms until it returns a value other than undefined, for at most `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  ms = 10_000,
  what = "condition",
): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${ms} ms${last ? `: ${last}` : ""}`);
}

/** POSTs JSON to an instance. */
export async function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The next frame of `type`, skipping others. */
export async function nextOf<T extends ServerFrame["type"]>(ws: TestSocket, type: T, ms = 15_000) {
  const signal = AbortSignal.timeout(ms);
  const seen: string[] = [];
  while (true) {
    const frame = await ws.next({ signal }).catch(() => {
      throw new Error(`no ${type} frame within ${ms} ms (saw ${seen.join(", ") || "none"})`);
    });
    if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
    seen.push(frame.type);
  }
}

/** Mints a seat on `on` and opens its socket there. */
export async function seatOn(on: Instance, roles: string[] = []) {
  const minted = await post(on.base, "/v1/operators", { roles });
  assert.equal(minted.status, 200, JSON.stringify(minted.body));
  const { sid, token } = minted.body as { sid: string; token: string };
  const ws = await openSocket(`${on.wsBase}/v1/operators/${sid}/ws`, { token });
  return { sid, token, ws };
}

/** Waits until the run has ended, read from `on`. */
export async function runEnded(on: Instance, runId: string, ms = 20_000) {
  return await eventually(
    async () => {
      const { body } = await getJson<{ status: string }>(on.base, `/v1/runs/${runId}`);
      return body.status === "running" ? undefined : body as Record<string, unknown>;
    },
    ms,
    `run ${runId} ended`,
  );
}
