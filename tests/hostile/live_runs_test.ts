/**
 * The runs in progress are bounded: in number (`SWITCHBOARD_MAX_LIVE_RUNS`) and
 * in the bytes of their initial ctxs (`SWITCHBOARD_MAX_LIVE_CTX_MB`). Past
 * either, a new run is refused 503 with `Retry-After`, and taken again once
 * runs end. Without it, runs parked on a seat that never answers could be
 * started until memory ran out.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readConfig } from "../../config.ts";
import { startServer } from "../_helpers.ts";
import { askBlueprint, postInline } from "./_big_runs.ts";

Deno.test("new runs past the live-run bounds answer 503 with Retry-After, and are taken once runs end", async () => {
  await using server = await startServer({ config: { maxLiveRuns: 2, maxLiveCtxMb: 1 } });
  await server.mint(["parked"]); // a seat that never connects: its asks wait
  const park = (q: string) =>
    postInline(server.base, "/v1/runs", askBlueprint("parked"), { init_ctx: { q }, ttl_secs: 60 });
  const started: string[] = [];
  for (const q of ["a", "b"]) {
    const res = await park(q);
    assert.equal(res.status, 202);
    started.push((await res.json()).run_id);
  }
  const third = await park("c");
  assert.equal(third.status, 503);
  assert.equal(third.headers.get("retry-after"), "1");
  const body = await third.json();
  assert.equal(body.code, "unavailable");
  assert.match(body.error, /SWITCHBOARD_MAX_LIVE_RUNS/);
  const sync = await postInline(server.base, "/v1/tasks", askBlueprint("parked"), {});
  assert.equal(sync.status, 503, "POST /v1/tasks too");
  await sync.body?.cancel();

  // one ends: there is room for one more, but not for 1 MiB of initial ctx with the other
  const cancelled = await fetch(`${server.base}/v1/runs/${started[0]}`, { method: "DELETE" });
  assert.equal(cancelled.status, 200);
  await cancelled.body?.cancel();
  const big = await park("q".repeat(1024 * 1024));
  assert.equal(big.status, 503);
  assert.match((await big.json()).error, /SWITCHBOARD_MAX_LIVE_CTX_MB/);
  const small = await park("d");
  assert.equal(small.status, 202);
  await small.body?.cancel();
});

Deno.test("SWITCHBOARD_MAX_LIVE_RUNS and SWITCHBOARD_MAX_LIVE_CTX_MB default to 100,000 and 1024", () => {
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  const config = readConfig(env({}));
  assert.equal(config.maxLiveRuns, 100_000);
  assert.equal(config.maxLiveCtxMb, 1024);
  assert.equal(readConfig(env({ SWITCHBOARD_MAX_LIVE_RUNS: "5" })).maxLiveRuns, 5);
  assert.throws(() => readConfig(env({ SWITCHBOARD_MAX_LIVE_RUNS: "0" })), /MAX_LIVE_RUNS/);
  assert.throws(() => readConfig(env({ SWITCHBOARD_MAX_LIVE_CTX_MB: "lots" })), /MAX_LIVE_CTX_MB/);
});
