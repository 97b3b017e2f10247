import assert from "node:assert/strict";
import { Hono } from "hono";
import { PromptQuery, WorkerResultBody } from "../protocol/worker.ts";
import { queryOf } from "./_http.ts";
import { checkPromptQuery, checkWorkerResult } from "./worker.ts";

function* bodies(): Generator<string> {
  const s = JSON.stringify;
  const values: unknown[] = [null, 0, "x", [], {}, { a: [1, { b: null }] }, undefined];
  const oks: unknown[] = [true, false, undefined, null, "true", 1];
  const attempts: unknown[] = [undefined, 1, 2, 0, -1, 1.5, 4294967295, 4294967296, null, "1"];
  for (const task_id of ["T-1", "", 5, null, undefined]) {
    for (const value of values) {
      for (const ok of oks) {
        for (const attempt of attempts) yield s({ task_id, value, ok, attempt, extra: 1 });
      }
    }
  }
  yield "[]";
  yield "null";
  yield '"T-1"';
  yield '{"task_id":"T-1","value":1e400}';
  yield '{"task_id":"T-1","value":{"__proto__":{"a":1}}}';
  yield '{"task_id":"T-1","value":-0,"attempt":1e0}';
  yield '{"__proto__":{"task_id":"T-1"},"value":1}';
  yield `{"task_id":"T-1","value":${"[".repeat(80)}${"]".repeat(80)}}`;
}

Deno.test("checkWorkerResult accepts only what WorkerResultBody accepts, and returns its output", () => {
  let fast = 0;
  for (const text of bodies()) {
    const checked = checkWorkerResult(JSON.parse(text));
    if (checked === undefined) continue; // the schema decides
    fast++;
    const parsed = WorkerResultBody.safeParse(JSON.parse(text));
    assert.ok(parsed.success, text);
    assert.deepEqual(checked, parsed.data, text);
  }
  assert.ok(fast > 50);
});

Deno.test("checkWorkerResult leaves every body the schema refuses to the schema", () => {
  for (const text of bodies()) {
    if (!WorkerResultBody.safeParse(JSON.parse(text)).success) {
      assert.equal(checkWorkerResult(JSON.parse(text)), undefined, text);
    }
  }
});

Deno.test("checkPromptQuery gives the handler what PromptQuery gives it, for any query", async () => {
  const answer = (fast: boolean) =>
    new Hono()
      .get(
        "/q",
        fast ? queryOf(PromptQuery, checkPromptQuery) : queryOf(PromptQuery),
        (c) => c.json(c.req.valid("query")),
      )
      .onError((err) => new Response(err.message, { status: 400 }));
  const [withFast, withSchema] = [answer(true), answer(false)];
  const queries = [
    "",
    "?",
    "?task_id",
    "?task_id=",
    "?task_id=T-1",
    "?task_id=T-1&task_id=T-2",
    "?task_id=T-1&other=1",
    "?other=1&task_id=T%201",
    "?task%5Fid=T-1",
    "?task_id=a+b",
    "?task_id=%E2%82%AC",
    "?task_id=%",
    "?TASK_ID=T-1",
    "?task_id=T-1#frag",
    "?task_id[]=T-1",
  ];
  for (const q of queries) {
    const [a, b] = await Promise.all([withFast.request(`/q${q}`), withSchema.request(`/q${q}`)]);
    assert.deepEqual([a.status, await a.text()], [b.status, await b.text()], q);
  }
});
