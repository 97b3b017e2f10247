/**
 * Hostile answer schemas. Ajv inlined every `$ref` to a schema without refs of its
 * own, so a schema that names one large definition many times compiled to code of
 * their product: 8 KB (a 100-property definition named 200 times) took 3.9 s and
 * 660 MB to compile, 20 KB took 23 s and 3 GB, and a 59 KB Blueprint POST ran the
 * server out of heap (V8 fatal OOM after 60 s). Refs are now compiled once each
 * (`inlineRefs: false`): the 59 KB one compiles in ~330 ms.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { probeHealth } from "./_probe.ts";

/** A schema naming one definition of `props` properties `refs` times. */
function refBomb(props: number, refs: number) {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < props; i++) properties[`p${i}`] = { type: "integer", minimum: i };
  return {
    $defs: { d: { type: "object", properties } },
    type: "array",
    prefixItems: Array.from({ length: refs }, () => ({ $ref: "#/$defs/d" })),
  };
}

Deno.test("an answer schema naming a large definition many times compiles once per ref, without stalling the server", async () => {
  await using server = await startServer();
  const probe = probeHealth(server.base);
  const started = performance.now();
  const res = await fetch(`${server.base}/v1/blueprints/refs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id: "refs",
      agents: [],
      flow: {
        kind: "ask",
        to: "reviewer",
        question: "'ok?'",
        schema: refBomb(100, 200),
        out: "$.a",
      },
    }),
  });
  const took = performance.now() - started;
  const body = await res.json();
  const latencies = await probe.stop();
  assert.equal(res.status, 201, JSON.stringify(body));
  assert.ok(took < 1_500, `registering took ${took.toFixed(0)} ms`);
  assert.ok(Math.max(...latencies) < 1_000, `healthz waited ${Math.max(...latencies)} ms`);
});
