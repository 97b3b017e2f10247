/**
 * How long a KV run store takes to list the heads of 40 ended runs with 10 MB
 * records (what a filtered `GET /v1/runs` scans): from the index keys, not the
 * records. `deno run -A bench/run_heads_bench.ts`
 */
import { createKvRunStore } from "../store/run_store_kv.ts";
import { sampleRun } from "../store/_durable_store_cases.ts";

const dir = await Deno.makeTempDir({ prefix: "switchboard-heads-" });
const kv = await Deno.openKv(`${dir}/heads.kv`);
try {
  const runs = createKvRunStore(kv);
  const big = { s: "x".repeat(5_000_000) };
  for (let i = 0; i < 40; i++) {
    const run = sampleRun(`run-${i}`, i);
    runs.putRun(run, { created: true });
    await runs.putRun({
      ...run,
      status: "succeeded",
      finished_at: i + 1,
      final_ctx: big,
      ctx: big,
    });
  }
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    const heads = await runs.listRunHeads({ limit: 300 });
    console.log(`listRunHeads: ${heads.length} heads in ${(performance.now() - t).toFixed(1)} ms`);
  }
} finally {
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
