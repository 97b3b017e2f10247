import assert from "node:assert/strict";
import { randomHex } from "./crypto.ts";

Deno.test("randomHex gives distinct lowercase hex of the asked size, across pool refills", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const hex = randomHex(16);
    assert.match(hex, /^[0-9a-f]{32}$/);
    assert.ok(!seen.has(hex));
    seen.add(hex);
  }
  assert.match(randomHex(5), /^[0-9a-f]{10}$/);
  assert.match(randomHex(3000), /^[0-9a-f]{6000}$/);
  assert.equal(randomHex(0), "");
});
