import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { hmacSha256Hex } from "./hmac_sha256.ts";

Deno.test("hmacSha256Hex gives node:crypto's HMAC-SHA256 for every padding length and key size", () => {
  const texts = ["", "a", "é∑😀", "worker-of-T-1|Worker|*|1|2|None|abc"];
  for (let n = 50; n <= 140; n++) texts.push("x".repeat(n));
  texts.push("ü".repeat(300), "y".repeat(5000));
  for (const size of [0, 1, 32, 64, 65, 200]) {
    const key = crypto.getRandomValues(new Uint8Array(size));
    const mac = hmacSha256Hex(key);
    for (const text of texts) {
      assert.equal(
        mac(text),
        createHmac("sha256", key).update(text).digest("hex"),
        `key ${size}, text ${text.length}`,
      );
    }
  }
});

Deno.test("hmacSha256Hex matches RFC 4231 test case 2", () => {
  const mac = hmacSha256Hex(new TextEncoder().encode("Jefe"));
  assert.equal(
    mac("what do ya want for nothing?"),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});
