/**
 * Issue 6: runs per second through `POST /v1/runs` with a 3-step `identity`
 * Blueprint, on a Deno KV file (the default store) against Deno KV `:memory:`,
 * in the same process. A server is booted the way main.ts boots it (openDeps)
 * on a real socket; each iteration posts the runs over HTTP (client/) and waits
 * for each to end by following its event stream. Two shapes: one run at a time
 * (latency), and 16 runs at once (throughput). Runs/s = runs per iteration /
 * time per iteration.
 *
 * @module
 */
import { openDeps } from "../boot.ts";
import { defaultConfig } from "../deps.ts";
import { startRun, waitRun } from "../client/http.ts";
import type { RunBody } from "../client/http.ts";
import { startServer } from "../tests/_helpers.ts";

const BODY: RunBody = {
  blueprint: {
    kind: "inline",
    value: {
      id: "bench-3",
      agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
      flow: {
        kind: "seq",
        children: ["$.a", "$.b", "$.c"].map((out) => ({
          kind: "step",
          ref: "identity",
          in: "'x'",
          out,
        })),
      },
    },
  },
  init_ctx: {},
};
const CONCURRENT = 16;

const dir = await Deno.makeTempDir({ prefix: "switchboard-runs-bench-" });

async function boot(kvPath: string): Promise<string> {
  const deps = await openDeps(defaultConfig({ kvPath }));
  const server = await startServer({ deps });
  return server.base;
}
const onFile = await boot(`${dir}/switchboard.kv`);
const inMemory = await boot(":memory:");

async function oneRun(url: string): Promise<void> {
  const { run_id } = await startRun({ url, body: BODY });
  const run = await waitRun({ url, runId: run_id });
  if (run.status !== "succeeded") throw new Error(`run ${run_id} ${run.status}: ${run.error}`);
}

Deno.bench("1 run at a time, KV file", { group: "one", baseline: true }, async () => {
  await oneRun(onFile);
});
Deno.bench("1 run at a time, KV :memory:", { group: "one" }, async () => {
  await oneRun(inMemory);
});
Deno.bench(`${CONCURRENT} runs at once, KV file`, { group: "many", baseline: true }, async () => {
  await Promise.all(Array.from({ length: CONCURRENT }, () => oneRun(onFile)));
});
Deno.bench(`${CONCURRENT} runs at once, KV :memory:`, { group: "many" }, async () => {
  await Promise.all(Array.from({ length: CONCURRENT }, () => oneRun(inMemory)));
});

globalThis.addEventListener("unload", () => {
  // Deno.bench has no teardown hook; the process ends right after.
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // best effort
  }
});
