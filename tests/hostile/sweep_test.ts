/**
 * A short, seeded run of the hostile-input sweep (`_sweep.ts`) against the real
 * server process: malformed HTTP on every route of the OpenAPI document, WebSocket
 * abuse, hostile blueprints and a hostile webhook worker, while a canary calls
 * healthz and runs a one-step run. The long version is `bench/hostile_sweep.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { checkAnswer, type Finding, type SweepContext } from "./_sweep.ts";
import { sweepServer } from "./_sweep_server.ts";

Deno.test("the sweep's checks flag a 5xx, internals, a non-JSON error and a missing code", () => {
  const findings: Finding[] = [];
  const ctx = {
    finding: (kind: string, input: string, detail: string) =>
      findings.push({ kind, input, detail }),
  } as unknown as SweepContext; // `as`: checkAnswer only reports findings
  const json = "application/json";
  checkAnswer(ctx, "a", 500, json, '{"error":"internal error","code":"internal"}');
  checkAnswer(ctx, "b", 400, json, '{"error":"Error: x\\n    at f (file:///srv/a.ts:1:1)"}');
  checkAnswer(ctx, "c", 404, "text/plain", "not found");
  checkAnswer(ctx, "d", 422, json, '{"error":"bad"}');
  checkAnswer(ctx, "e", 400, json, '{"error":"Maximum call stack size exceeded","code":"x"}');
  // what the server should answer passes
  checkAnswer(ctx, "f", 413, json, '{"error":"request body larger than 2 MiB","code":"x"}');
  checkAnswer(ctx, "g", 200, json, "{}");
  assert.deepEqual(findings.map((f) => `${f.input} ${f.kind}`), [
    "a status 500",
    "b internals shown",
    "b error without {error, code}",
    "c error not JSON",
    "d error without {error, code}",
    "e internals shown",
  ]);
});

Deno.test("a seeded hostile sweep of a few seconds finds nothing, and the canary keeps answering", async () => {
  const report = await sweepServer({
    kv: ":memory:",
    seed: 7,
    ms: 6_000,
    maxAttacks: 120,
    concurrency: 2,
    ttlSecs: 2,
    // the machine is shared: a bound with room, still far below a held event loop
    canaryMs: 2_000,
  });
  const summary = JSON.stringify({ ...report, byAttack: undefined }, null, 1).slice(0, 4_000);
  assert.equal(report.exited, undefined, summary);
  assert.ok(report.aliveAfter, summary);
  assert.deepEqual(report.findings, [], summary);
  assert.deepEqual(report.internalErrors, [], summary);
  assert.deepEqual(report.canary.failures, [], summary);
  assert.ok(report.canary.healthz > 10 && report.canary.runs > 5, summary);
  assert.ok(report.attacks >= 10, summary);
  assert.ok(report.rssMiB.peak < 1_024, summary);
});
