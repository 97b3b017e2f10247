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
