/**
 * `GET /v1/inbox` and `GET /v1/operators/:sid/pending` answered every pending
 * request, each frame with its question, in one JSON text: with 560 parked asks of
 * a 1 MB question both answered 500 (`RangeError: Invalid string length`, past the
 * longest string V8 makes). Now a page ends once its JSON would pass 16 Mi
 * characters, with `next_after` for `?after=`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { askBlueprint, postInline } from "./_big_runs.ts";
import { startServer } from "../_helpers.ts";

const ASKS = 20; // ~20 MB of frames

/** Every req_id of a listing, page by page through `next_after`. */
async function pageThrough(
  url: (after?: string) => string,
  headers: Record<string, string>,
  key: "items" | "pending",
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let after: string | undefined;
  for (let pages = 1; pages <= ASKS; pages++) {
    const res = await fetch(url(after), { headers });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.length < 16 * 1024 * 1024 + 1_100_000, `a page of ${text.length} characters`);
    const body = JSON.parse(text) as Record<string, { req_id: string }[]> & { next_after?: string };
    ids.push(...body[key].map((r) => r.req_id));
    if (body.next_after === undefined) return { ids, pages };
    after = body.next_after;
  }
  throw new Error("the pages did not end");
}

Deno.test("the inbox and a seat's pending list are paged at 16 Mi characters", async () => {
  await using server = await startServer();
  const seat = await server.mint(["rr"]);
  for (let i = 0; i < ASKS; i++) {
    const res = await postInline(server.base, "/v1/runs", askBlueprint("rr"), {
      init_ctx: { q: `${i}`.padEnd(1_000_000, "q") },
      ttl_secs: 60,
    });
    assert.equal(res.status, 202);
    await res.body?.cancel();
  }
  // the asks are sent as their runs reach them
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const { pending } = await (await fetch(`${server.base}/v1/operators/${seat.sid}`, {
      headers: { authorization: `Bearer ${seat.token}` },
    })).json();
    if (pending === ASKS) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const inbox = await pageThrough(
    (after) => `${server.base}/v1/inbox?limit=1000${after ? `&after=${after}` : ""}`,
    {},
    "items",
  );
  assert.ok(inbox.pages > 1, "one inbox page held every request");
  assert.equal(new Set(inbox.ids).size, ASKS);
  const pending = await pageThrough(
    (after) => `${server.base}/v1/operators/${seat.sid}/pending${after ? `?after=${after}` : ""}`,
    { authorization: `Bearer ${seat.token}` },
    "pending",
  );
  assert.ok(pending.pages > 1, "one pending page held every request");
  assert.deepEqual(pending.ids, inbox.ids);
});
