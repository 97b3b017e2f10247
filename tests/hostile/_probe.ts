/**
 * Helpers for hostile-input tests: watch `/v1/healthz` from another client while
 * a hostile run executes, and wait for the run to end.
 *
 * @module
 */
import { call, readEvents } from "../durable/_child.ts";

/** The latencies of `/v1/healthz` probes, one every ~20 ms until stopped. */
export interface HealthProbe {
  stop(): Promise<number[]>;
}

/** Starts probing `base`'s healthz, one request at a time. */
export function probeHealth(base: string): HealthProbe {
  const latencies: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const res = await fetch(`${base}/v1/healthz`, { signal: AbortSignal.timeout(10_000) });
      await res.body?.cancel();
      latencies.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`healthz answered ${res.status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return latencies;
    },
  };
}

/**
 * Starts a run and waits (at most `ms`) for its `run_ended` event; resolves with
 * the run id. (The events stream, not `GET /v1/runs/:id`, whose `final_ctx` may be
 * large.)
 */
export async function runToEnd(server: { base: string }, body: unknown, ms = 30_000) {
  const started = await call(server, "POST", "/v1/runs", body);
  if (started.status !== 202) {
    throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
  }
  const runId = started.body?.run_id as string;
  const events = await readEvents(server, runId, { signal: AbortSignal.timeout(ms) });
  if (events.at(-1)?.event !== "run_ended") throw new Error(`run ${runId} did not end`);
  return runId;
}

/**
 * Runs `body` to its end while probing healthz, up to three times: a busy shared
 * machine can delay any one probe, while a run that holds the event loop delays
 * every attempt. Stops at the first attempt whose worst probe is under `underMs`;
 * `check` sees each ended run. Resolves with the worst probe of each attempt.
 */
export async function worstHealthWhile(
  server: { base: string },
  body: unknown,
  underMs: number,
  check: (run: Record<string, unknown>) => void,
  ms?: number,
): Promise<number[]> {
  const worsts: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const probe = probeHealth(server.base);
    let runId: string;
    let latencies: number[];
    try {
      runId = await runToEnd(server, body, ms);
    } finally {
      latencies = await probe.stop();
    }
    check((await call(server, "GET", `/v1/runs/${runId}`)).body ?? {});
    worsts.push(Math.max(...latencies));
    if (worsts.at(-1)! < underMs) break;
  }
  return worsts;
}

/** An inline blueprint body with the built-in `identity` agent as `id`. */
export function inlineRun(flow: unknown, initCtx: unknown = {}): unknown {
  return {
    blueprint: {
      kind: "inline",
      value: {
        id: "hostile",
        agents: [{ name: "id", kind: "rust_fn", spec: { fn_id: "identity" } }],
        flow,
      },
    },
    init_ctx: initCtx,
  };
}
