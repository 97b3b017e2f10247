import assert from "node:assert/strict";
import { createDeadlines } from "./deadlines.ts";

Deno.test("deadlines fire in time order on one timer, and a cleared one never fires", async () => {
  const start = Date.now();
  const schedule = createDeadlines(Date.now);
  const fired: string[] = [];
  const done = Promise.withResolvers<void>();
  schedule(start + 40, () => fired.push("c"));
  const b = schedule(start + 20, () => fired.push("b"));
  schedule(start + 10, () => fired.push("a"));
  schedule(start + 60, () => {
    fired.push("d");
    done.resolve();
  });
  const gone = schedule(start + 5, () => fired.push("never"));
  gone.clear();
  b.clear();
  b.clear();
  await done.promise;
  assert.deepEqual(fired, ["a", "c", "d"]);
});

Deno.test("deadlines keep a heap: many random deadlines fire sorted, cleared ones skipped", async () => {
  const base = Date.now() + 5;
  const schedule = createDeadlines(Date.now);
  const fired: number[] = [];
  const all = Array.from({ length: 200 }, (_, i) => (i * 37) % 50);
  const handles = all.map((d) => schedule(base + d, () => fired.push(d)));
  for (let i = 0; i < handles.length; i += 3) handles[i].clear();
  const kept = all.filter((_, i) => i % 3 !== 0).sort((a, b) => a - b);
  const last = Promise.withResolvers<void>();
  schedule(base + 80, () => last.resolve());
  await last.promise;
  assert.deepEqual(fired, kept);
});

Deno.test("the timer left armed once no deadline waits serves later deadlines, sooner or later", async () => {
  const schedule = createDeadlines(Date.now);
  // later than the timer left armed: it fires, finds nothing due, and is armed again
  schedule(Date.now() + 10, () => {}).clear();
  const later = Promise.withResolvers<number>();
  const t0 = Date.now();
  schedule(t0 + 40, () => later.resolve(Date.now()));
  assert.ok((await later.promise) >= t0 + 40);
  // sooner than the timer left armed: a new timer is armed for it
  schedule(Date.now() + 60_000, () => {}).clear();
  const sooner = Promise.withResolvers<number>();
  const t1 = Date.now();
  schedule(t1 + 10, () => sooner.resolve(Date.now()));
  const fired = await sooner.promise;
  assert.ok(fired >= t1 + 10 && fired < t1 + 30_000);
});

Deno.test("a scheduler with no deadline waiting does not keep the process alive", async () => {
  const url = new URL("./deadlines.ts", import.meta.url).href;
  const code = `import { createDeadlines } from ${JSON.stringify(url)};
const schedule = createDeadlines(Date.now);
schedule(Date.now() + 60_000, () => {}).clear();
schedule(Date.now() + 120_000, () => {}).clear();`;
  const started = Date.now();
  const { code: status } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "null",
    stderr: "inherit",
  }).output();
  assert.equal(status, 0);
  assert.ok(Date.now() - started < 30_000, "the process exited without waiting for the timer");
});
