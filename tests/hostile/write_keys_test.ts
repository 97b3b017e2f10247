/**
 * A write copies the objects on its path, the root ctx always, and one copy cannot
 * let the event loop run: a write into an object of a million keys held it 0.5 s,
 * and measuring the new ctx walked the million keys again (another 0.5 s), at
 * every pass of a loop. A write wider than `SWITCHBOARD_RUN_MAX_WRITE_KEYS` now
 * fails its run before it copies anything (checked here with a lower limit, so the
 * objects stay small); a write within it is measured from the size of the object
 * it copied, not by walking the copy.
 *
 * @module
 */
import assert from "node:assert/strict";
import { call, spawnServer, tempKv } from "../durable/_child.ts";
import { inlineRun, runToEnd, worstHealthWhile } from "./_probe.ts";

/** An object of `n` keys of at most four characters. */
const wide = (n: number) => {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) out[i.toString(36)] = 0;
  return out;
};
const assign = (at: string) => ({ kind: "assign", at, value: { op: "lit", value: 1 } });
const WRITE_KEYS =
  /^budget exceeded: a write would copy an object of 30000 keys \(limit 20000, SWITCHBOARD_RUN_MAX_WRITE_KEYS\)$/;

Deno.test("a write into an object wider than the write-keys budget fails its run while healthz answers", async () => {
  await using kv = await tempKv();
  await using server = await spawnServer(kv.path, {
    env: { SWITCHBOARD_RUN_MAX_WRITE_KEYS: "20000" },
  });
  for (
    const body of [
      inlineRun(assign("$.w.x"), { w: wide(30_000) }), // a nested object
      inlineRun(assign("$.x"), wide(30_000)), // the root, copied by every write
    ]
  ) {
    const worsts = await worstHealthWhile(server, body, 250, (run) => {
      assert.equal(run.status, "failed");
      assert.match(String(run.error), WRITE_KEYS);
    }, 60_000);
    assert.ok(worsts.at(-1)! < 250, `healthz took ${worsts.join(", ")} ms`);
  }
  // within the budget, a loop writes into a wide object at every pass
  const loop = {
    kind: "loop",
    counter: "$.i",
    cond: "true",
    max: 50,
    body: { kind: "assign", at: "$.w.last", value: "$.i" },
  };
  const ok = await runToEnd(server, inlineRun(loop, { w: wide(19_000) }), 60_000);
  const run = (await call(server, "GET", `/v1/runs/${ok}`)).body ?? {};
  assert.equal(run.status, "succeeded", String(run.error));
  assert.equal((run.final_ctx as { w: { last: number } }).w.last, 49);
  assert.equal(Object.keys((run.final_ctx as { w: object }).w).length, 19_001);
});
