/**
 * `GET /v1/runs?limit=1000` answered every run of the page whole, ctxs included,
 * and read the page's records (and, with a filter, the newest 5,000 records)
 * whole from the store first. With a KV file holding 300 runs of a 1.9 MB ctx,
 * one list took 51 s, held the event loop for seconds, answered 500, and the
 * next one (`&status=succeeded`) killed the server (V8 out of memory at 2.7 GB).
 * Now a page ends once its JSON passes 16 Mi characters (with `next_before`),
 * views are read ten at a time, and filters scan run heads without their ctxs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { COPY_BLUEPRINT, postInline } from "./_big_runs.ts";
import { startServer } from "../_helpers.ts";

const RUNS = 12;
const MAX = 16 * 1024 * 1024;

/** One run of a 1.5 MB ctx (a view of ~4.5 MB: init_ctx, and final_ctx with its copy). */
async function bigTask(base: string, i: number): Promise<void> {
  const res = await postInline(base, "/v1/tasks", COPY_BLUEPRINT, {
    init_ctx: { x: `${i}`.padEnd(1_500_000, "x") },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
}

/** Every run id of the list of `query`, page by page through `next_before`. */
async function pageThrough(base: string, query: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  for (let page = 0; page < RUNS + 2; page++) {
    const url = `${base}/v1/runs?limit=1000${query}` + (before ? `&before=${before}` : "");
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const text = await res.text();
    const body = JSON.parse(text) as { runs: { run_id: string }[]; next_before?: string };
    assert.ok(body.runs.length > 0);
    // a page passes the bound by its last run at most
    assert.ok(text.length < MAX + 5_000_000, `a page of ${text.length} characters`);
    ids.push(...body.runs.map((r) => r.run_id));
    if (body.next_before === undefined) return ids;
    before = body.next_before;
  }
  throw new Error("the pages did not end");
}

Deno.test("a run list of large runs is paged at 16 Mi characters, with and without filters", async () => {
  await using server = await startServer();
  for (let i = 0; i < RUNS; i++) await bigTask(server.base, i);
  // the runs the server kept (a `:memory:` server forgets the oldest past 256 MiB)
  const { total } = await (await fetch(`${server.base}/v1/runs?limit=1&blueprint=big`)).json();
  assert.ok(total >= 8, `${total} runs kept`);
  const first = await (await fetch(`${server.base}/v1/runs?limit=1000`)).json();
  assert.ok(first.runs.length < total, `one page held all ${first.runs.length} runs`);
  assert.equal(typeof first.next_before, "string");
  for (const query of ["", "&status=succeeded", "&blueprint=big"]) {
    const ids = await pageThrough(server.base, query);
    assert.equal(new Set(ids).size, total, `query ${query}: ${ids.length} ids`);
  }
  // a small list is one page, as before
  const one = await (await fetch(`${server.base}/v1/runs?limit=1`)).json();
  assert.equal(one.runs.length, 1);
  assert.equal(one.next_before, undefined);
});
