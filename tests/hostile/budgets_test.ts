import assert from "node:assert/strict";
import { spawnServer, tempKv } from "../durable/_child.ts";
import { inlineRun, worstHealthWhile } from "./_probe.ts";

/** Finding 1: the 700-byte blueprint that doubled ctx on every pass until the heap died. */
const DOUBLING = inlineRun({
  kind: "loop",
  counter: "$.i",
  cond: "true",
  max: 40,
  body: { kind: "assign", at: "$.a", value: { op: "array", items: ["$.a", "$.a"] } },
}, { a: "x".repeat(300) });

/** Finding 3: a fanout whose branches each copied the whole ctx. */
const fanout = (bind: string, count: number, blob: number) =>
  inlineRun({
    kind: "fanout",
    items: "$.items",
    bind,
    join: "all",
    out: "$.out",
    body: { kind: "assign", at: "$.r", value: "$.item" },
  }, { items: Array.from({ length: count }, (_, i) => ({ item: i })), blob: "y".repeat(blob) });

/** Finding 3: a long loop over a large ctx. */
const LONG_LOOP = inlineRun({
  kind: "loop",
  counter: "$.i",
  cond: "true",
  max: 50_000,
  body: { kind: "assign", at: "$.last", value: "[$.i, len($.big)]" },
}, { big: Array.from({ length: 5_000 }, (_, i) => ({ n: i })) });

Deno.test("hostile runs fail or finish on their budgets while healthz answers in < 100 ms", async () => {
  await using kv = await tempKv();
  await using server = await spawnServer(kv.path);
  const cases: [string, unknown, (run: Record<string, unknown>) => void][] = [
    ["doubling ctx", DOUBLING, (run) => {
      assert.equal(run.status, "failed");
      assert.match(String(run.error), /budget exceeded: .*bytes of JSON/);
    }],
    [
      "fanout of 1,000 branches that each hold a 200 kB ctx",
      fanout("$.item", 1_000, 200_000),
      (run) => {
        assert.equal(run.status, "failed");
        assert.match(String(run.error), /SWITCHBOARD_RUN_MAX_CTX_BYTES/);
      },
    ],
    ["fanout of 10,000", fanout("$.item", 10_000, 10), (run) => {
      assert.equal(run.status, "failed");
      assert.match(String(run.error), /SWITCHBOARD_RUN_MAX_FANOUT/);
    }],
    ["loop of 50,000 passes", LONG_LOOP, (run) => {
      assert.equal(run.status, "succeeded", String(run.error));
      assert.deepEqual((run.final_ctx as { last: unknown }).last, [49_999, 5_000]);
    }],
  ];
  for (const [name, body, check] of cases) {
    // one of three attempts keeps every probe under 100 ms (before the budgets: seconds)
    const worsts = await worstHealthWhile(server, body, 100, check);
    console.log(`${name}: worst healthz per attempt ${worsts.map((w) => w.toFixed(1))} ms`);
    assert.ok(worsts.at(-1)! < 100, `${name}: healthz took ${worsts.join(", ")} ms`);
  }
  // the server survived all of them
  const health = await fetch(`${server.base}/v1/healthz`);
  assert.equal(await health.text(), "ok");
});
