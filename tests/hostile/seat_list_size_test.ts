/**
 * `GET /v1/operators` answered every seat in one JSON text. Seats may hold 64
 * roles of 256 characters (~17 KB of JSON each) and up to 100,000 of them may
 * exist, so with 30,000 such seats the list passed the longest string V8 makes
 * and answered 500 (`RangeError: Invalid string length`). Now a page ends once
 * its JSON would pass 16 Mi characters, with `next_after` for `?after=`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";

const SEATS = 1_100; // ~18 MB of seat JSON

Deno.test("the seat list is paged at 16 Mi characters and the pages hold every seat once", async () => {
  await using server = await startServer();
  for (let i = 0; i < SEATS; i++) {
    const roles = Array.from({ length: 64 }, (_, j) => `${i}-${j}-`.padEnd(256, "r"));
    const res = await fetch(`${server.base}/v1/operators`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ roles }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  const sids = new Set<string>();
  let after: string | undefined;
  let pages = 0;
  for (; pages < 10; pages++) {
    const res = await fetch(`${server.base}/v1/operators${after ? `?after=${after}` : ""}`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.length < 16 * 1024 * 1024 + 20_000, `a page of ${text.length} characters`);
    const page = JSON.parse(text) as { operators: { sid: string }[]; next_after?: string };
    for (const s of page.operators) sids.add(s.sid);
    if (page.next_after === undefined) break;
    after = page.next_after;
  }
  assert.ok(pages >= 1, "one page held every seat");
  assert.equal(sids.size, SEATS);
  const bad = await fetch(`${server.base}/v1/operators?after=`);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).code, "invalid_query");
});
