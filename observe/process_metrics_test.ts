import assert from "node:assert/strict";
import { monitorEventLoopLag } from "./process_metrics.ts";

Deno.test("monitorEventLoopLag measures how long the loop was blocked, until aborted", async () => {
  const stop = new AbortController();
  const samples: number[] = [];
  const blocked = Promise.withResolvers<void>();
  monitorEventLoopLag((s) => {
    samples.push(s);
    if (s >= 0.1) blocked.resolve();
  }, { intervalMs: 10, signal: stop.signal });
  const deadline = setTimeout(() => blocked.reject(new Error("no lag sample")), 5_000);
  // Block the loop for 150 ms: the next sample is at least ~140 ms late.
  const until = performance.now() + 150;
  while (performance.now() < until) { /* busy */ }
  try {
    await blocked.promise;
  } finally {
    clearTimeout(deadline);
    stop.abort();
  }
  assert.ok(samples.some((s) => s >= 0.1), JSON.stringify(samples));
  const before = samples.length;
  await new Promise((r) => setTimeout(r, 50)); // no sample arrives after the abort
  assert.equal(samples.length, before);
});

Deno.test("monitorEventLoopLag does not keep the process alive (node: modules loaded, as in the server)", async () => {
  const url = new URL("./process_metrics.ts", import.meta.url).href;
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { monitorEventLoopLag } from ${JSON.stringify(url)};
       monitorEventLoopLag(() => {}, { intervalMs: 20_000 });`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  // the 20 s timer would hold it that long
  assert.ok(performance.now() - started < 15_000, "the process waited for the timer");
});
