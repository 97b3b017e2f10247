import assert from "node:assert/strict";
import { isoTime } from "./iso_time.ts";

Deno.test("isoTime is Date#toISOString, within a second, across seconds and at the edges", () => {
  const base = Date.parse("2026-12-06T06:14:59.990Z");
  const times = [0, 999, 1000, base, base + 9, base + 10, base + 11, base - 5000, base + 1];
  times.push(253402300799999, 253402300800000, 8.64e15, 1.5, -1, -1000);
  for (const ms of times) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  for (let i = 0; i < 2500; i += 7) {
    assert.equal(isoTime(base + i), new Date(base + i).toISOString());
  }
  assert.throws(() => isoTime(Number.NaN), RangeError);
});
