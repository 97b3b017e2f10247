import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay() doubles from the initial delay up to the cap", () => {
  const fixed = { initialMs: 100, maxMs: 1_000, jitter: 0 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, fixed)),
    [100, 200, 400, 800, 1_000, 1_000],
  );
});

Deno.test("backoffDelay() draws jitter from the lower share of each delay", () => {
  const options = { initialMs: 1_000, jitter: 0.5 };
  assert.equal(backoffDelay(0, { ...options, random: () => 0 }), 1_000);
  assert.equal(backoffDelay(0, { ...options, random: () => 0.8 }), 600);
  assert.equal(backoffDelay(1, { ...options, random: () => 0.5 }), 1_500);
});
