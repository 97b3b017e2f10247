/**
 * JSON and YAML bodies whose bytes are not UTF-8 are refused with 400, as 0.1.2's
 * extractors refuse them, instead of being read with U+FFFD in place of the bad
 * bytes. A worker's submit takes raw bytes and reads bad ones as U+FFFD, as 0.1.2
 * does (reference/http.md §5.3).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { SpawnFrame } from "../../protocol/frames.ts";
import { startServer, type TestServer } from "../_helpers.ts";
import { nextOf, operatorAgentBlueprint, seat, startRun } from "../engine/_loop.ts";

/** `before`, the bytes ff fe (never UTF-8), then `after`. */
const broken = (before: string, after: string): Uint8Array<ArrayBuffer> => {
  const enc = new TextEncoder();
  return new Uint8Array([...enc.encode(before), 0xff, 0xfe, ...enc.encode(after)]);
};

async function send(server: TestServer, path: string, type: string, body: BodyInit) {
  const res = await fetch(`${server.base}${path}`, {
    method: "POST",
    headers: { "content-type": type },
    body,
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("JSON and YAML bodies that are not UTF-8 answer 400, not a run of U+FFFD", async () => {
  await using server = await startServer();
  const task = await send(
    server,
    "/v1/tasks",
    "application/json",
    broken('{"blueprint":{"kind":"stored","id":"x"},"init_ctx":{"a":"', '"}}'),
  );
  assert.equal(task.status, 400);
  assert.equal(task.body.error, "Failed to parse the request body as JSON: invalid UTF-8");
  const json = await send(server, "/v1/blueprints/x", "application/json", broken('{"id":"', '"}'));
  assert.equal(json.status, 400);
  assert.equal(json.body.error, "Failed to parse the request body as JSON: invalid UTF-8");
  const yaml = await send(server, "/v1/blueprints/x", "application/yaml", broken("id: ", "\n"));
  assert.equal(yaml.status, 400);
  assert.equal(yaml.body.error, "Failed to parse the request body as YAML: invalid UTF-8");
  // a byte order mark is UTF-8 and stays allowed
  const bom = await send(
    server,
    "/v1/blueprints/x",
    "application/json",
    new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("{}")]),
  );
  assert.notEqual(bom.status, 400, JSON.stringify(bom.body));
});

Deno.test("a worker's submit that is not UTF-8 is read with U+FFFD in place of the bad bytes (0.1.2)", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: {},
  });
  const spawn: SpawnFrame = await nextOf(op.ws, "spawn");
  const res = await fetch(`${server.base}/v1/worker/submit`, {
    method: "POST",
    headers: { authorization: `Bearer ${spawn.worker_handle}` },
    body: broken("", "A \n"),
  });
  assert.equal(res.status, 204, await res.text());
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: {} });
  await server.deps.engine.settled(runId);
  const run = await (await fetch(`${server.base}/v1/runs/${runId}`)).json();
  assert.deepEqual(run.final_ctx, { r: "\ufffd\ufffdA" });
  await op.ws.close();
});
