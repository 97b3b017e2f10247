/**
 * The sweep's canary, run in a worker (its own event loop): `GET /v1/healthz`
 * every 50 ms, and a one-step run to completion (`POST /v1/tasks`) in a second
 * loop. An answer slower than the bound is posted at once as `slow`; the rest is
 * posted as `report` when the sweep says `stop`.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

const CANARY_RUN = JSON.stringify({
  blueprint: {
    kind: "inline",
    value: {
      id: "canary",
      agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
      flow: { kind: "step", ref: "echo", in: "$.n", out: "$.r" },
    },
  },
  init_ctx: { n: 1 },
});

let stopped = false;

function run(base: string, boundMs: number) {
  const report = {
    healthz: 0,
    worstHealthzMs: 0,
    runs: 0,
    worstRunMs: 0,
    failures: [] as string[],
  };
  const timed = async (what: string, f: () => Promise<boolean>) => {
    const from = Date.now();
    const started = performance.now();
    let ok = false;
    try {
      ok = await f();
      if (!ok && report.failures.length < 20) report.failures.push(`${what}: wrong answer`);
    } catch (err) {
      if (report.failures.length < 20) {
        report.failures.push(`${what}: ${String(err).slice(0, 200)}`);
      }
    }
    const ms = performance.now() - started;
    if (ms > boundMs) {
      self.postMessage({ type: "slow", what, ms: Math.round(ms), from, to: Date.now() });
    }
    return ms;
  };
  const health = (async () => {
    while (!stopped) {
      const ms = await timed("healthz", async () => {
        const res = await fetch(`${base}/v1/healthz`, { signal: AbortSignal.timeout(10_000) });
        return res.status === 200 && (await res.text()) === "ok";
      });
      report.healthz++;
      report.worstHealthzMs = Math.max(report.worstHealthzMs, ms);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const runs = (async () => {
    while (!stopped) {
      const ms = await timed("run", async () => {
        const res = await fetch(`${base}/v1/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: CANARY_RUN,
          signal: AbortSignal.timeout(10_000),
        });
        const body = await res.json();
        return res.status === 200 && body?.final_ctx?.r?.echoed === "1";
      });
      report.runs++;
      report.worstRunMs = Math.max(report.worstRunMs, ms);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    await Promise.all([health, runs]);
    return report;
  };
}

let finish: (() => Promise<unknown>) | undefined;
self.onmessage = async (e: MessageEvent) => {
  if (e.data.type === "start") finish = run(e.data.base, e.data.boundMs);
  if (e.data.type === "stop") {
    stopped = true;
    self.postMessage({ type: "report", report: await finish?.() });
  }
};
