/**
 * Expressions whose evaluation cost is not bounded by their node count: the
 * leaves are ctx values of up to the ctx budget each, so 512 nodes could compare
 * or print gigabytes. A run that tries must fail with a `limit` error while the
 * server keeps answering.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnServer, tempKv } from "../durable/_child.ts";
import { inlineRun, worstHealthWhile } from "./_probe.ts";

const N = 100_000;
const four = (at: string) => ({ op: "array", items: [at, at, at, at] });
/** `$.a16` and `$.b16`: equal, distinct, 16 × 100,000 numbers each (3.2 MB of JSON). */
const setup = [
  { kind: "assign", at: "$.a4", value: four("$.a") },
  { kind: "assign", at: "$.a16", value: four("$.a4") },
  { kind: "assign", at: "$.b4", value: four("$.b") },
  { kind: "assign", at: "$.b16", value: four("$.b4") },
];
const init = () => ({ a: new Array(N).fill(0), b: new Array(N).fill(0) });
const paths = (n: number, at: string) => Array.from({ length: n }, () => at);

/** An error text that printed the whole value: 500 × 3.2 MB, the heap died. */
const HUGE_ERROR = inlineRun({
  kind: "seq",
  children: [...setup, {
    kind: "assign",
    at: "$.y",
    value: {
      op: "lt",
      lhs: { op: "array", items: paths(500, "$.a16") },
      rhs: { op: "lit", value: 1 },
    },
  }],
}, init());

/** The same through a branch condition (its error text is the flow's). */
const HUGE_COND = inlineRun({
  kind: "seq",
  children: [...setup, {
    kind: "branch",
    cond: { op: "array", items: paths(500, "$.a16") },
    then: { kind: "seq", children: [] },
    else: { kind: "seq", children: [] },
  }],
}, init());

/** 170 deep comparisons of two equal values of 1.6 M numbers: seconds of one expression. */
const DEEP_EQ = inlineRun({
  kind: "seq",
  children: [...setup, {
    kind: "assign",
    at: "$.y",
    value: {
      op: "and",
      operands: Array.from({ length: 170 }, () => ({ op: "eq", lhs: "$.a16", rhs: "$.b16" })),
    },
  }],
}, init());

Deno.test("costly expressions fail on a limit while healthz answers in < 250 ms", async () => {
  await using kv = await tempKv();
  await using server = await spawnServer(kv.path);
  const cases: [string, unknown, RegExp][] = [
    [
      "type error over a 1.6 GB value",
      HUGE_ERROR,
      /^type error in lt: expected number, got \[+0,0,.{0,300}…$/,
    ],
    [
      "branch cond over a 1.6 GB value",
      HUGE_COND,
      /^branch cond must be boolean, got: \[+0,0,.{0,300}…$/,
    ],
    ["170 comparisons of 1.6 M numbers", DEEP_EQ, /^expression too costly: /],
  ];
  for (const [name, body, error] of cases) {
    const worsts = await worstHealthWhile(server, body, 250, (run) => {
      assert.equal(run.status, "failed", name);
      assert.match(String(run.error), error, `${name}: ${String(run.error).slice(0, 400)}`);
    }, 60_000);
    console.log(`${name}: worst healthz per attempt ${worsts.map((w) => w.toFixed(1))} ms`);
    assert.ok(worsts.at(-1)! < 250, `${name}: healthz took ${worsts.join(", ")} ms`);
  }
  const health = await fetch(`${server.base}/v1/healthz`);
  assert.equal(await health.text(), "ok");
});

Deno.test("a path of 1 MB in a tree expression is refused (422) like a long expression text", async () => {
  // It was taken: parsed again at each evaluation (55 ms for 1 MB) and kept in the
  // path cache (10,000 entries: 11 GB).
  const { startServer } = await import("../_helpers.ts");
  await using server = await startServer();
  const start = (at: string) =>
    fetch(`${server.base}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(inlineRun({ kind: "assign", at: "$.y", value: { op: "exists", at } })),
    });
  const long = await start("$." + "a".repeat(1_000_000));
  const body = await long.json();
  assert.equal(long.status, 422, JSON.stringify(body).slice(0, 300));
  assert.match(JSON.stringify(body), /path longer than 8192 bytes/);
  const short = await start("$." + "a".repeat(8_000));
  assert.equal(short.status, 202);
  await short.body?.cancel();
});
