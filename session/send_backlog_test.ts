import assert from "node:assert/strict";
import { createBacklogWatch, DEFAULT_BACKLOG_LIMIT } from "./send_backlog.ts";

function clock(start = 5_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => t += ms };
}

Deno.test("createBacklogWatch never trips under the limit", () => {
  const c = clock();
  const watch = createBacklogWatch({ maxBytes: 100, graceMs: 1_000 }, { now: c.now });
  for (let i = 0; i < 100; i++) {
    assert.equal(watch.over(100), false);
    c.advance(1_000);
  }
});

Deno.test("createBacklogWatch trips once the backlog stayed over the limit for the grace period", () => {
  const c = clock();
  const watch = createBacklogWatch({ maxBytes: 100, graceMs: 1_000 }, { now: c.now });
  assert.equal(watch.over(101), false); // over since now
  c.advance(999);
  assert.equal(watch.over(5_000), false);
  c.advance(1);
  assert.equal(watch.over(101), true);
});

Deno.test("createBacklogWatch forgets a burst that drained: a replay read at full speed never trips", () => {
  const c = clock();
  const watch = createBacklogWatch({ maxBytes: 100, graceMs: 1_000 }, { now: c.now });
  for (let i = 0; i < 50; i++) {
    // a burst far over the limit, sent at once, then drained before the next send
    for (let k = 0; k < 10; k++) assert.equal(watch.over(1_000 * k + 101), false);
    c.advance(600);
    assert.equal(watch.over(0), false);
    c.advance(600);
  }
});

Deno.test("createBacklogWatch with no grace trips at the second send over the limit", () => {
  const c = clock();
  const watch = createBacklogWatch({ maxBytes: 10, graceMs: 0 }, { now: c.now });
  assert.equal(watch.over(11), false);
  assert.equal(watch.over(11), true);
});

Deno.test("DEFAULT_BACKLOG_LIMIT is 16 MiB for 10 s", () => {
  assert.deepEqual(DEFAULT_BACKLOG_LIMIT, { maxBytes: 16 * 1024 * 1024, graceMs: 10_000 });
});
