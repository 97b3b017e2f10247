/**
 * Instances of a cluster as child processes, started the way `deno task start`
 * starts a server (its permissions, through `startTask`), all on one database.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { abortable, openSocket, type TestSocket } from "../_helpers.ts";
import { startTask } from "../hostile/_task_start.ts";

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
  const child = await startTask("", {
    SWITCHBOARD_DATABASE_URL: databaseUrl,
    SWITCHBOARD_INSTANCE_ID: id,
    SWITCHBOARD_RUN_LEASE_SECS: String(options.leaseSecs ?? 1),
    LOG_LEVEL: "info",
    ...options.env,
  });
  let base: string;
  try {
    base = await abortable(child.listening, AbortSignal.timeout(30_000));
  } catch (e) {
    child.signal("SIGKILL");
    await child.status;
    throw new Error(`instance ${id}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const exited = child.status.then((s) => s.code);
  let gone = false;
  const kill = async (signal: Deno.Signal = "SIGTERM") => {
    if (gone) return;
    child.signal(signal);
    if (signal === "SIGSTOP" || signal === "SIGCONT") return;
    gone = true;
    await exited;
  };
  return {
    id,
    base,
    wsBase: base.replace(/^http/, "ws"),
    pid: child.pid,
    stderr: child.stderr,
    kill,
    exited,
    [Symbol.asyncDispose]: async () => {
      child.signal("SIGCONT");
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

/** Mints a seat on `on` and opens its socket there (declaring `client`, if given). */
export async function seatOn(on: Instance, roles: string[] = [], client?: string) {
  const minted = await post(on.base, "/v1/operators", { roles });
  assert.equal(minted.status, 200, JSON.stringify(minted.body));
  const { sid, token } = minted.body as { sid: string; token: string };
  const query = client === undefined ? "" : `?client=${encodeURIComponent(client)}`;
  const ws = await openSocket(`${on.wsBase}/v1/operators/${sid}/ws${query}`, { token });
  return { sid, token, ws };
}

/** Waits until instance `on` lists seat `sid` as connected (it learns of seats over the bus). */
export async function seesConnected(on: Instance, sid: string): Promise<void> {
  await eventually(
    async () => {
      const { body } = await getJson<{ operators: Array<{ sid: string; connected: boolean }> }>(
        on.base,
        "/v1/operators",
      );
      return body.operators.some((o) => o.sid === sid && o.connected) || undefined;
    },
    10_000,
    `instance ${on.id} sees seat ${sid} connected`,
  );
}

/** The seat's pending requests, as `on` lists them. */
export async function pendingOf(on: Instance, sid: string, token: string): Promise<unknown[]> {
  const { body } = await getJson<{ pending: unknown[] }>(
    on.base,
    `/v1/operators/${sid}/pending`,
    token,
  );
  return body.pending;
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
