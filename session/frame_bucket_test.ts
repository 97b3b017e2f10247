import assert from "node:assert/strict";
import { createFrameBucket, DEFAULT_FRAME_RATE, frameCost } from "./frame_bucket.ts";

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => t += ms };
}

function takeAll(bucket: { take(): boolean }, max: number): number {
  let n = 0;
  while (n < max && bucket.take()) n++;
  return n;
}

Deno.test("createFrameBucket lets a full burst through at once, then refuses", () => {
  const c = clock();
  const bucket = createFrameBucket({ perSec: 10, burst: 5 }, { now: c.now });
  assert.equal(takeAll(bucket, 100), 5);
  assert.equal(bucket.take(), false);
});

Deno.test("createFrameBucket refills at perSec, never above burst", () => {
  const c = clock();
  const bucket = createFrameBucket({ perSec: 10, burst: 5 }, { now: c.now });
  takeAll(bucket, 100);
  c.advance(99); // 0.99 tokens
  assert.equal(bucket.take(), false);
  c.advance(1); // 1 token (0.99 + 0.01)
  assert.equal(bucket.take(), true);
  assert.equal(bucket.take(), false);
  c.advance(250); // 2.5 tokens
  assert.equal(takeAll(bucket, 100), 2);
  c.advance(60_000); // a minute idle: back to a full bucket, not 600 tokens
  assert.equal(takeAll(bucket, 1_000), 5);
});

Deno.test("createFrameBucket passes a steady pace under perSec forever", () => {
  const c = clock();
  const bucket = createFrameBucket({ perSec: 100, burst: 1 }, { now: c.now });
  for (let i = 0; i < 10_000; i++) {
    assert.equal(bucket.take(), true, `frame ${i}`);
    c.advance(10); // exactly 100/s
  }
});

Deno.test("createFrameBucket refuses a pace just over perSec once the burst is spent", () => {
  const c = clock();
  const bucket = createFrameBucket({ perSec: 100, burst: 50 }, { now: c.now });
  let passed = 0;
  // 125 frames/s: 0.8 token comes back a frame, so 50 tokens last ~250 frames
  while (passed < 1_000 && bucket.take()) {
    passed++;
    c.advance(8);
  }
  assert.ok(passed >= 245 && passed <= 255, `passed ${passed}`);
});

Deno.test("createFrameBucket ignores a clock that steps back", () => {
  const c = clock();
  const bucket = createFrameBucket({ perSec: 1, burst: 2 }, { now: c.now });
  takeAll(bucket, 10);
  c.advance(-10_000);
  assert.equal(bucket.take(), false);
  c.advance(10_000); // back where it was: still no time has passed since the last refill
  assert.equal(bucket.take(), false);
  c.advance(1_000);
  assert.equal(bucket.take(), true);
});

Deno.test("DEFAULT_FRAME_RATE takes 20,000 frames at once and 5,000/s sustained, not 20,001 at once", () => {
  const c = clock();
  const bucket = createFrameBucket(DEFAULT_FRAME_RATE, { now: c.now });
  assert.equal(takeAll(bucket, 100_000), 20_000);
  for (let s = 0; s < 60; s++) {
    for (let ms = 0; ms < 1_000; ms++) {
      c.advance(1);
      for (let i = 0; i < 5; i++) assert.ok(bucket.take());
    }
  }
});

Deno.test("frameCost is 1 a frame, plus 1 per 4 KiB of text", () => {
  assert.equal(frameCost("{}"), 1);
  assert.equal(frameCost("x".repeat(4095)), 1);
  assert.equal(frameCost("x".repeat(4096)), 2);
  assert.equal(frameCost("x".repeat(1_000_000)), 245);
  assert.equal(frameCost(new ArrayBuffer(8192)), 3);
  assert.equal(frameCost(undefined), 1);
});

Deno.test("createFrameBucket charges a frame its cost", () => {
  const c = clock();
  const bucket = createFrameBucket({ perSec: 1, burst: 100 }, { now: c.now });
  assert.equal(bucket.take(60), true);
  assert.equal(bucket.take(41), false); // 40 left
  assert.equal(bucket.take(40), true);
  assert.equal(bucket.take(), false);
});

Deno.test("createFrameBucket lets a frame dearer than the bucket through only when it is full, then is in debt", () => {
  const c = clock();
  const bucket = createFrameBucket({ perSec: 10, burst: 5 }, { now: c.now });
  assert.equal(bucket.take(245), true); // a 1 MiB frame under a burst of 5
  c.advance(1_000); // +10 tokens: still 230 in debt
  assert.equal(bucket.take(), false);
  assert.equal(bucket.take(245), false);
  c.advance(24_000); // back to full (capped at 5)
  assert.equal(bucket.take(2), true);
  assert.equal(bucket.take(245), false, "not full any more");
});
