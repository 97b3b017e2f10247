import assert from "node:assert/strict";
import { createDiskBudget, PRUNE_PER_CHECK, PRUNE_STEP_MAX } from "./disk_budget.ts";
import type { KvFileUsage } from "./kv_file_usage.ts";
import { createLogger } from "../observe/log.ts";

const MB = 1024 * 1024;

/** A bound of 100 MB over a file whose readings are `used` (MB, -1: unreadable), in turn. */
function budget(used: number[], prunable = Infinity) {
  const pruned: number[] = [];
  const lines: string[] = [];
  let i = 0;
  let left = prunable;
  const b = createDiskBudget({
    maxBytes: 100 * MB,
    usage: (): Promise<KvFileUsage | undefined> => {
      const u = used[Math.min(i++, used.length - 1)];
      return Promise.resolve(u < 0 ? undefined : { usedBytes: u * MB, fileBytes: 200 * MB });
    },
    pruneOldest: (limit) => {
      const n = Math.min(limit, left);
      left -= n;
      pruned.push(n);
      return Promise.resolve(n);
    },
    log: createLogger({ level: "info", write: (line) => lines.push(line) }),
  });
  return { b, pruned, lines };
}

Deno.test("under 90% of the bound a check deletes nothing and refuses nothing", async () => {
  const { b, pruned } = budget([50, 90]);
  await b.check();
  await b.check();
  assert.deepEqual(pruned, []);
  assert.equal(b.full(), false);
  assert.equal(b.usage()!.usedBytes, 90 * MB);
});

Deno.test("past 90% a check deletes the oldest ended runs, one, then twice as many each time, until it is under 90%", async () => {
  const { b, pruned, lines } = budget([97, 94, 91, 89]);
  await b.check();
  assert.deepEqual(pruned, [1, 2, 4], "read again after each step");
  assert.equal(b.usage()!.usedBytes, 89 * MB);
  assert.equal(b.full(), false);
  assert.match(lines.join("\n"), /oldest ended runs deleted.*"deleted":7/);
});

Deno.test("the steps grow to PRUNE_STEP_MAX at most", async () => {
  const { b, pruned } = budget([150]);
  await b.check();
  assert.deepEqual(
    pruned.slice(0, 8),
    [1, 2, 4, 8, 16, 32, 64, 64].map((n) => Math.min(n, PRUNE_STEP_MAX)),
  );
});

Deno.test("past the bound with nothing left to delete, new work is refused until it is back under", async () => {
  const { b, lines } = budget([120, 120, 120, 120, 120, 99], 10);
  await b.check(); // 10 deleted (1, 2, 4, 3), then nothing left: still over
  assert.equal(b.full(), true);
  await b.check();
  assert.equal(b.full(), false, "under the bound again");
  const text = lines.join("\n");
  assert.match(text, /over its bound: new runs are refused/);
  assert.match(text, /back under its bound/);
});

Deno.test("one check deletes at most PRUNE_PER_CHECK runs", async () => {
  const { b, pruned } = budget([150]);
  await b.check();
  assert.equal(pruned.reduce((a, n) => a + n, 0), PRUNE_PER_CHECK);
  assert.equal(b.full(), true);
});

Deno.test("a usage that cannot be read keeps the last reading; checks do not overlap", async () => {
  const { b } = budget([120, -1], 0);
  await b.check();
  assert.equal(b.full(), true);
  const [one, two] = [b.check(), b.check()];
  assert.equal(one, two, "one check at a time");
  await one;
  assert.equal(b.full(), true);
  assert.equal(b.usage()!.usedBytes, 120 * MB);
});
