/**
 * Hostile answer schemas. Ajv inlined every `$ref` to a schema without refs of its
 * own, so a schema that names one large definition many times compiled to code of
 * their product: 8 KB (a 100-property definition named 200 times) took 3.9 s and
 * 660 MB to compile, 20 KB took 23 s and 3 GB, and a 59 KB Blueprint POST ran the
 * server out of heap (V8 fatal OOM after 60 s). Refs are now compiled once each
 * (`inlineRefs: false`): the 59 KB one compiles in ~330 ms. Compiling had other
 * costs past linear (4,000 `patternProperties`, 55 KB: 2.4 s on the event loop)
 * and checking an answer had no bound at all (nested `anyOf`: 2^n, a backtracking
 * `pattern`): both now run in a worker, a check counts its steps, and patterns
 * run on RE2.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import type { Json } from "../../protocol/json.ts";
import { probeHealth } from "./_probe.ts";
import { nextOf, runEnded, startRun } from "../engine/_loop.ts";
import { flowBlueprint, seatWith } from "../desk/_desk.ts";

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
        schema: refBomb(250, 500), // 20 KB: 23 s and 3 GB inlined
        out: "$.a",
      },
    }),
  });
  const took = performance.now() - started;
  const body = await res.json();
  const latencies = await probe.stop();
  assert.equal(res.status, 201, JSON.stringify(body));
  assert.ok(took < 5_000, `registering took ${took.toFixed(0)} ms`);
  assert.ok(Math.max(...latencies) < 1_000, `healthz waited ${Math.max(...latencies)} ms`);
});

Deno.test("a Blueprint whose answer schema takes over 1 s to compile is refused with 422, without stalling the server", async () => {
  await using server = await startServer();
  const probe = probeHealth(server.base);
  const posts = await Promise.all([1, 2].map(async (n) => {
    const patternProperties: Record<string, unknown> = {};
    for (let i = 0; i < 4_000; i++) patternProperties[`^k${i}_${n}`] = true; // 55 KB, 2.4 s
    const schema = { type: "object", patternProperties };
    const res = await fetch(`${server.base}/v1/blueprints/pp${n}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: `pp${n}`,
        agents: [],
        flow: { kind: "ask", to: "reviewer", question: "'ok?'", schema, out: "$.a" },
      }),
    });
    return { status: res.status, body: await res.json() };
  }));
  const latencies = await probe.stop();
  for (const { status, body } of posts) {
    assert.equal(status, 422, JSON.stringify(body));
    assert.match(body.error, /^blueprint invalid: ask schema: compiling took longer than \d+ ms/);
    assert.equal(body.issues[0].pointer, "/flow/schema");
  }
  assert.ok(Math.max(...latencies) < 1_000, `healthz waited ${Math.max(...latencies)} ms`);
});

/** `depth` definitions, each `anyOf` the next one twice: 2^depth checks of a number. */
function anyOfChain(depth: number) {
  const defs: Record<string, unknown> = { [`a${depth}`]: { type: "null" } };
  for (let i = 0; i < depth; i++) {
    defs[`a${i}`] = { anyOf: [{ $ref: `#/$defs/a${i + 1}` }, { $ref: `#/$defs/a${i + 1}` }] };
  }
  return defs;
}

Deno.test("an answer whose check would take 2^23 steps or backtrack is refused with its req_id, without stalling the server; the ask stays answerable", async () => {
  await using server = await startServer();
  const op = await seatWith(server, { roles: ["reviewer"] });
  // numbers: 2^23 visits (8 M issues: out of heap in 30 s on the event loop);
  // strings: a backtracking pattern in V8 (30 characters: ~9 s), linear in RE2
  const schema = {
    $defs: anyOfChain(23),
    if: { type: "number" },
    then: { $ref: "#/$defs/a0" },
    else: { type: ["null", "string"], pattern: "^(a+)+$" },
  };
  assert.ok(JSON.stringify(schema).length < 2_000);
  const runId = await startRun(server, {
    blueprint: flowBlueprint({ kind: "ask", to: "reviewer", question: "'n?'", schema, out: "$.a" }),
    init_ctx: {},
  });
  const ask = await nextOf(op.ws, "ask");
  const probe = probeHealth(server.base);
  const refusals: Array<[Json, RegExp]> = [
    [1, /^answer check failed: answer check took more than 500000 steps$/],
    [`${"a".repeat(100_000)}!`, /^answer does not match the ask's schema: \/ must match pattern/],
  ];
  for (const [value, why] of refusals) {
    op.ws.send({ type: "answer", req_id: ask.req_id, value });
    const refused = await nextOf(op.ws, "error");
    assert.equal(refused.req_id, ask.req_id);
    assert.match(refused.error, why);
  }
  const latencies = await probe.stop();
  assert.ok(Math.max(...latencies) < 1_000, `healthz waited ${Math.max(...latencies)} ms`);
  // a quick answer still settles it (a new worker checks it)
  op.ws.send({ type: "answer", req_id: ask.req_id, value: "aaa" });
  const ended = await runEnded(server, runId);
  assert.equal(ended.status, "succeeded", JSON.stringify(ended));
  assert.deepEqual(ended.final_ctx, { a: "aaa" });
  await op.ws.close();
});
