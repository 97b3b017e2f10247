/**
 * Runs the sweep against the real server process (`deno task start`'s flags) with
 * the hostile webhook worker configured, a canary, and its resident set watched.
 *
 * @module
 */
import { startTask } from "./_task_start.ts";
import { startHostileHook } from "./_sweep_hook.ts";
import {
  type CanaryReport,
  internalErrorLines,
  notedBetween,
  startCanary,
  sweep,
  type SweepOptions,
  type SweepReport,
  watchRss,
} from "./_sweep.ts";

/** Options of {@link sweepServer}. */
export interface SweepServerOptions extends Omit<SweepOptions, "base" | "hooks"> {
  /** `:memory:` or a KV file path. */
  kv: string;
  /** The canary's bound per answer (1 s by default). */
  canaryMs?: number;
  env?: Record<string, string>;
}

/** The whole result: the sweep's, the canary's, memory, and the server's fate. */
export interface SweepServerReport extends SweepReport {
  canary: CanaryReport;
  rssMiB: { first: number; peak: number; last: number; every10s: number[] };
  internalErrors: string[];
  /** Set when the server died during the sweep: how, its last words, and what was thrown just before. */
  exited?: string;
  lastWords?: string;
  thrownBefore?: string[];
  /** The healthz answer after the sweep. */
  aliveAfter: boolean;
}

export async function sweepServer(options: SweepServerOptions): Promise<SweepServerReport> {
  const serverBase: { url?: string } = {};
  await using hook = startHostileHook(() => serverBase.url);
  await using child = await startTask(options.kv, {
    SWITCHBOARD_WEBHOOKS: hook.hookTable,
    LOG_LEVEL: "warn",
    ...options.env,
  });
  let exited: string | undefined;
  let thrownBefore: string[] | undefined;
  const died = new AbortController();
  child.status.then((s) => {
    exited = `exit code ${s.code} signal ${s.signal}`;
    thrownBefore = notedBetween(Date.now() - 3_000, Date.now());
    died.abort();
  });
  const base = serverBase.url = await child.listening;
  const rss = watchRss(child.pid);
  const canary = startCanary(base, options.canaryMs ?? 1_000);
  let report: SweepReport;
  let canaryReport: CanaryReport;
  try {
    report = await sweep({ ...options, base, hooks: hook.fnIds, signal: died.signal });
  } finally {
    canaryReport = await canary.stop();
  }
  let aliveAfter = false;
  try {
    const res = await fetch(`${base}/v1/healthz`, { signal: AbortSignal.timeout(5_000) });
    aliveAfter = (await res.text()) === "ok";
  } catch {
    // dead
  }
  return {
    ...report,
    canary: canaryReport,
    rssMiB: rss.stop(),
    internalErrors: internalErrorLines(child.stderr()).slice(0, 20),
    exited,
    lastWords: exited ? child.stderr().slice(-4_000) : undefined,
    thrownBefore,
    aliveAfter,
  };
}
