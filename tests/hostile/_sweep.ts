/**
 * The hostile-input sweep: a seeded, time-bounded fuzz driver that throws
 * malformed HTTP, WebSocket abuse, hostile blueprints and hostile webhook replies
 * at a running server while a canary checks that `GET /v1/healthz` and a small
 * run keep answering in time. `tests/hostile/sweep_test.ts` runs a few seconds of
 * it; `bench/hostile_sweep.ts` runs it for as long as asked.
 *
 * A finding is: a 5xx answer, an error answer that is not JSON `{error, code}`,
 * an answer that shows internals (a stack, a file path, an engine error name), a
 * request that never answers, a WebSocket rule broken (SPEC §4), a run that does
 * not end, a canary answer over its bound, or the server's own `internal error`
 * log lines.
 *
 * @module
 */
import { httpAttacks } from "./_sweep_http.ts";
import { wsAttacks } from "./_sweep_ws.ts";
import { flowAttacks } from "./_sweep_flows.ts";

/** A seeded PRNG (mulberry32): the same seed throws the same inputs. */
export interface Rng {
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)], chance: (p) => next() < p };
}

/** One problem the sweep saw. */
export interface Finding {
  kind: string;
  input: string;
  detail: string;
}

/** What an attack gets: the server, the dice, and where to report. */
export interface SweepContext {
  base: string;
  wsBase: string;
  rng: Rng;
  /** Webhook fn ids configured on the server (see `_sweep_hook.ts`). */
  hooks: readonly string[];
  /** The TTL of the runs the attacks start. */
  ttlSecs: number;
  signal: AbortSignal;
  finding(kind: string, input: string, detail: string): void;
  /** Counts one thing sent (a request, a frame, a run). */
  sent(n?: number): void;
  /** Names what is being thrown now. */
  note(input: string): void;
}

/** What the lanes threw lately, with when (the canary names them when it is slow). */
const recent: { label: string; at: number }[] = [];
function noted(label: string) {
  recent.push({ label, at: Date.now() });
  if (recent.length > 2_000) recent.splice(0, 1_000);
}
/** The distinct labels noted between `from` and `to` (Date.now() times). */
export function notedBetween(from: number, to: number): string[] {
  return [...new Set(recent.filter((r) => r.at >= from && r.at <= to).map((r) => r.label))];
}

/** An attack: one hostile thing, checked. */
export type Attack = (ctx: SweepContext) => Promise<void>;

const LEAK =
  /\n\s+at |file:\/\/|\/[\w.-]+\.ts\b|\b(TypeError|RangeError|SyntaxError|ReferenceError)\b|Maximum call stack|Deno\.|node_modules/;
const KNOWN_STATUSES = new Set([
  200,
  201,
  202,
  204,
  400,
  401,
  403,
  404,
  405,
  409,
  410,
  413,
  415,
  422,
  429,
  // designed refusals: a bound reached (with Retry-After), the store full
  503,
  507,
]);

/**
 * Checks one HTTP answer: a known status (no 5xx but 503 and 507), errors as JSON `{error, code}`,
 * no internals in the text. `raw` marks answers Deno itself gives before the app
 * (431 for oversized heads), which are not JSON.
 */
export function checkAnswer(
  ctx: SweepContext,
  input: string,
  status: number,
  contentType: string | null,
  text: string,
): void {
  // Deno's HTTP layer refuses some requests before the app sees them (an oversized
  // head, an Upgrade header on a POST): 431, or 400 with no body and no type
  if (status === 431 || (status === 400 && contentType === null && text === "")) return;
  if (input.startsWith("HEAD ")) text = ""; // a HEAD answer has no body to check
  if (!KNOWN_STATUSES.has(status)) ctx.finding(`status ${status}`, input, text.slice(0, 300));
  if (LEAK.test(text) && status >= 400) ctx.finding("internals shown", input, text.slice(0, 300));
  if (status < 400 || input.startsWith("HEAD ")) return;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return ctx.finding("error not JSON", input, `${status} ${contentType} ${text.slice(0, 200)}`);
  }
  const b = body as { error?: unknown; code?: unknown } | null;
  if (typeof b?.error !== "string" || typeof b?.code !== "string") {
    ctx.finding("error without {error, code}", input, `${status} ${text.slice(0, 200)}`);
  }
}

/**
 * Sends one request and checks its answer. A request that gets no answer within
 * `ms` is a finding; a connection the server drops is one too, unless `mayDrop`.
 */
export async function hit(
  ctx: SweepContext,
  input: string,
  url: string,
  init: RequestInit,
  options: { ms?: number; mayDrop?: boolean; stream?: boolean } = {},
): Promise<{ status: number; text: string } | undefined> {
  ctx.sent();
  ctx.note(input);
  const ms = options.ms ?? 15_000;
  const timeout = AbortSignal.timeout(ms);
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.any([timeout, ctx.signal]) });
    if (options.stream && res.status === 200) {
      // an event stream answers at once and then stays open: its head is the answer
      await res.body?.cancel();
      return { status: res.status, text: "" };
    }
    const text = await res.text();
    checkAnswer(ctx, input, res.status, res.headers.get("content-type"), text);
    return { status: res.status, text };
  } catch (err) {
    if (ctx.signal.aborted) return;
    if (timeout.aborted) ctx.finding("no answer", input, `none within ${ms} ms`);
    else if (!options.mayDrop) ctx.finding("connection dropped", input, String(err).slice(0, 200));
  }
}

/** The canary's figures: its worst latencies and its failures. */
export interface CanaryReport {
  healthz: number;
  worstHealthzMs: number;
  runs: number;
  worstRunMs: number;
  failures: string[];
}

/**
 * Starts the canary (`_sweep_canary.ts`) in a worker, so the attacks' own work in
 * this thread never delays it: `GET /v1/healthz` every 50 ms and a one-step run to
 * completion in a loop, each bounded by `boundMs`. A slow answer names what the
 * lanes were throwing at that moment.
 */
export function startCanary(base: string, boundMs: number) {
  const worker = new Worker(new URL("./_sweep_canary.ts", import.meta.url), { type: "module" });
  const done = Promise.withResolvers<CanaryReport>();
  const slow: string[] = [];
  worker.onmessage = (e: MessageEvent) => {
    if (e.data.type === "slow" && slow.length < 30) {
      const { what, ms, from, to } = e.data;
      slow.push(
        `${what}: ${ms} ms, while: ${notedBetween(from - 1_000, to).join(" ; ").slice(0, 1_500)}`,
      );
    }
    if (e.data.type === "report") {
      done.resolve({ ...e.data.report, failures: [...e.data.report.failures, ...slow] });
    }
  };
  worker.onerror = (e) => done.reject(e);
  worker.postMessage({ type: "start", base, boundMs });
  return {
    async stop(): Promise<CanaryReport> {
      worker.postMessage({ type: "stop" });
      try {
        return await done.promise;
      } finally {
        worker.terminate();
      }
    },
  };
}

/** Samples a process's resident set (Linux `/proc`), in MiB, every 250 ms. */
export function watchRss(pid: number) {
  const samples: number[] = [];
  const read = () => {
    try {
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      if (Number.isFinite(kb)) samples.push(kb / 1024);
    } catch {
      // the process is gone: the sweep's liveness check reports it
    }
  };
  read();
  const timer = setInterval(read, 250);
  return {
    stop() {
      clearInterval(timer);
      read();
      // one sample every ~10 s, to see whether memory levels off
      const every10s = samples.filter((_, i) => i % 40 === 0).map((m) => Math.round(m));
      return {
        first: samples[0] ?? 0,
        peak: Math.max(0, ...samples),
        last: samples.at(-1) ?? 0,
        every10s,
      };
    },
  };
}

/** Options of {@link sweep}. */
export interface SweepOptions {
  base: string;
  seed: number;
  ms: number;
  /** Attacks in flight at once. */
  concurrency?: number;
  /** Webhook fn ids configured on the server. */
  hooks?: readonly string[];
  /** Which families to throw (all by default). */
  families?: readonly ("http" | "ws" | "flows")[];
  /** Stop after this many attacks (no limit by default). */
  maxAttacks?: number;
  /** Stops the sweep early (the server died). */
  signal?: AbortSignal;
  /** The TTL of the runs the attacks start (10 s by default). */
  ttlSecs?: number;
}

/** What one sweep did and saw. */
export interface SweepReport {
  attacks: number;
  sent: number;
  byAttack: Record<string, number>;
  findings: Finding[];
}

/** Runs attacks picked by the seeded dice until `ms` pass; each attack is bounded too. */
export async function sweep(options: SweepOptions): Promise<SweepReport> {
  const families = options.families ?? ["http", "ws", "flows"];
  const attacks: [string, Attack][] = [
    ...(families.includes("http") ? Object.entries(httpAttacks) : []),
    ...(families.includes("ws") ? Object.entries(wsAttacks) : []),
    ...(families.includes("flows") ? Object.entries(flowAttacks) : []),
  ];
  const report: SweepReport = { attacks: 0, sent: 0, byAttack: {}, findings: [] };
  const seen = new Map<string, number>();
  const stop = AbortSignal.any([
    AbortSignal.timeout(options.ms),
    ...(options.signal ? [options.signal] : []),
  ]);
  const worker = async (lane: number) => {
    const dice = rng(options.seed * 1000 + lane);
    while (!stop.aborted && report.attacks < (options.maxAttacks ?? Infinity)) {
      const [name, attack] = dice.pick(attacks);
      report.attacks++;
      report.byAttack[name] = (report.byAttack[name] ?? 0) + 1;
      const ctx: SweepContext = {
        base: options.base,
        wsBase: options.base.replace(/^http/, "ws"),
        rng: dice,
        hooks: options.hooks ?? [],
        ttlSecs: options.ttlSecs ?? 10,
        // an attack gets 60 s at most, then it is abandoned as a finding
        signal: AbortSignal.timeout(60_000),
        finding(kind, input, detail) {
          const key = `${kind}|${name}|${input.slice(0, 80)}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          if (seen.get(key)! > 1 || report.findings.length >= 200) return;
          report.findings.push({ kind, input: `${name}: ${input}`, detail });
        },
        sent: (n = 1) => void (report.sent += n),
        note: (input) => noted(`${name}: ${input.slice(0, 150)}`),
      };
      noted(name);
      try {
        await attack(ctx);
      } catch (err) {
        ctx.finding(
          ctx.signal.aborted ? "attack took over 60 s" : "attack threw",
          name,
          String(err),
        );
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 3 }, (_, i) => worker(i)));
  return report;
}

/** Lines the server logged as internal errors (its 500s and uncaught faults). */
export function internalErrorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /"level":"error"/.test(l) || /^error: Uncaught/.test(l));
}
