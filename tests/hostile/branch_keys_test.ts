/**
 * A fanout branch's writes copy the objects on their path, its root ctx always:
 * 1,000 branches over a root of 180,000 keys held 180 M keys and the heap died;
 * 20,000 keys held the event loop for seconds while the branches were made. The
 * run now fails on `SWITCHBOARD_RUN_MAX_BRANCH_KEYS` before it copies anything.
 *
 * @module
 */
import assert from "node:assert/strict";
import { call, spawnServer, tempKv } from "../durable/_child.ts";
import { inlineRun, runToEnd, worstHealthWhile } from "./_probe.ts";

const wide = (keys: number) => {
  const init: Record<string, unknown> = {};
  for (let i = 0; i < keys; i++) init[`k${i}`] = i;
  init.items = Array.from({ length: 1_000 }, (_, i) => i);
  return inlineRun({
    kind: "fanout",
    items: "$.items",
    bind: "$.i",
    join: "all",
    out: "$.o",
    body: { kind: "assign", at: "$.z", value: "$.i" },
  }, init);
};

Deno.test("a fanout over a wide root ctx fails on its branch-keys budget while healthz answers", async () => {
  await using kv = await tempKv();
  await using server = await spawnServer(kv.path);
  const worsts = await worstHealthWhile(server, wide(20_000), 250, (run) => {
    assert.equal(run.status, "failed");
    assert.match(
      String(run.error),
      /^budget exceeded: fanout branches would hold copies of 20001000 object keys \(limit 262144, SWITCHBOARD_RUN_MAX_BRANCH_KEYS\)$/,
    );
  }, 60_000);
  assert.ok(worsts.at(-1)! < 250, `healthz took ${worsts.join(", ")} ms`);
  // a narrow root still fans out to 1,000 branches
  const ok = await runToEnd(server, wide(100), 60_000);
  const run = (await call(server, "GET", `/v1/runs/${ok}`)).body ?? {};
  assert.equal(run.status, "succeeded", String(run.error));
});
