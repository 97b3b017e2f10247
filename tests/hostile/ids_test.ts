/**
 * Finding 11: ids and keys over the KV key limit, and long console file names,
 * answer 404/400 JSON instead of a 500 with a stack in the log.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openDeps } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import { createLogger } from "../../observe/log.ts";
import { startServer } from "../_helpers.ts";
import { tempKvPath } from "./_task_start.ts";

Deno.test("ids over 2 KiB answer 404 or 400 JSON on a KV store, and nothing is logged as a 500", async () => {
  await using kv = await tempKvPath();
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (line: string) => lines.push(line) });
  const deps = await openDeps(defaultConfig({ kvPath: kv.path, logLevel: "info" }), { log });
  try {
    await using server = await startServer({ deps });
    const long = "x".repeat(3_000);
    for (const path of [`/v1/runs/${long}`, `/v1/data/${long}`, `/v1/blueprints/${long}`]) {
      const res = await fetch(`${server.base}${path}`);
      assert.equal(res.status, 404, path);
      assert.ok(typeof (await res.json()).error === "string");
    }
    const register = await fetch(`${server.base}/v1/blueprints/${long}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: long, flow: { kind: "seq", children: [] } }),
    });
    assert.ok([400, 422].includes(register.status), String(register.status));
    await register.body?.cancel();
    const byId = await fetch(`${server.base}/v1/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ blueprint: { kind: "id", id: long }, init_ctx: {} }),
    });
    assert.ok([400, 404].includes(byId.status), String(byId.status));
    await byId.body?.cancel();
    assert.deepEqual(
      lines.filter((l) => l.includes('"status":500') || l.includes("internal error")),
      [],
    );
  } finally {
    await deps.close();
  }
});

Deno.test("a console file name of 300 characters is a 404 JSON, not a 500", async () => {
  await using server = await startServer();
  const res = await fetch(`${server.base}/console/${"a".repeat(300)}.js`);
  assert.equal(res.status, 404);
  assert.match((await res.json()).error, /no such console file/);
});
