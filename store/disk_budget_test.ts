import assert from "node:assert/strict";
import { createDiskBudget, PRUNE_PER_CHECK } from "./disk_budget.ts";
import type { KvFileUsage } from "./kv_file_usage.ts";
import { createLogger } from "../observe/log.ts";

const MB = 1024 * 1024;

function budget(used: number[]) {
  const pruned: number[] = [];
  const lines: string[] = [];
  let i = 0;
  const b = createDiskBudget({
    maxBytes: 100 * MB,
    usage: (): Promise<KvFileUsage | undefined> => {
      const u = used[Math.min(i++, used.length - 1)];
      return Promise.resolve(u < 0 ? undefined : { usedBytes: u * MB, fileBytes: 200 * MB });
    },
    pruneOldest: (limit) => {
      pruned.push(limit);
      return Promise.resolve(3);
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

Deno.test("past 90% a check deletes the oldest ended runs; past the bound new work is refused until it is back under", async () => {
  const { b, pruned, lines } = budget([95, 120, 99, 80]);
  await b.check();
  assert.deepEqual(pruned, [PRUNE_PER_CHECK]);
  assert.equal(b.full(), false);
  await b.check();
  assert.equal(b.full(), true);
  assert.equal(pruned.length, 2);
  await b.check();
  assert.equal(b.full(), false, "under the bound again");
  await b.check();
  assert.equal(pruned.length, 3, "nothing deleted under 90%");
  const text = lines.join("\n");
  assert.match(text, /oldest ended runs deleted/);
  assert.match(text, /over its bound: new runs are refused/);
  assert.match(text, /back under its bound/);
});

Deno.test("a usage that cannot be read keeps the last reading; checks do not overlap", async () => {
  const { b } = budget([120, -1]);
  await b.check();
  assert.equal(b.full(), true);
  const [one, two] = [b.check(), b.check()];
  assert.equal(one, two, "one check at a time");
  await one;
  assert.equal(b.full(), true);
  assert.equal(b.usage()!.usedBytes, 120 * MB);
});
