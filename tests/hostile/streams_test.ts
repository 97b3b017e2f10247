/**
 * Open event streams are bounded (`SWITCHBOARD_MAX_STREAMS`): each holds a
 * connection and its buffers for as long as its client keeps it, so a client
 * opening streams without end could take the server's memory. Past the bound a
 * new stream answers 503 with `Retry-After`; the open ones go on, and a closed
 * one frees its slot.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readConfig } from "../../config.ts";
import { startServer } from "../_helpers.ts";
import { askBlueprint, postInline } from "./_big_runs.ts";

Deno.test("event streams past SWITCHBOARD_MAX_STREAMS answer 503 with Retry-After, and a closed one frees its slot", async () => {
  await using server = await startServer({ config: { maxStreams: 2 } });
  await server.mint(["parked"]); // a seat that never connects: the run waits
  const started = await postInline(server.base, "/v1/runs", askBlueprint("parked"), {
    init_ctx: { q: "waits" },
    ttl_secs: 60,
  });
  assert.equal(started.status, 202);
  const { run_id: runId } = await started.json();
  const open = (path: string) => {
    const controller = new AbortController();
    return fetch(`${server.base}${path}`, { signal: controller.signal }).then((res) => ({
      res,
      close: async () => {
        controller.abort();
        await res.body?.cancel().catch(() => {});
      },
    }));
  };
  const events = await open(`/v1/runs/${runId}/events`);
  const feed = await open("/v1/runs/feed");
  assert.equal(events.res.status, 200);
  assert.equal(feed.res.status, 200);

  for (const path of [`/v1/runs/${runId}/events`, "/v1/runs/feed"]) {
    const third = await fetch(`${server.base}${path}`);
    assert.equal(third.status, 503, path);
    assert.equal(third.headers.get("retry-after"), "5");
    const body = await third.json();
    assert.equal(body.code, "unavailable");
    assert.match(body.error, /SWITCHBOARD_MAX_STREAMS/);
  }
  const metrics = await (await fetch(`${server.base}/v1/metrics`)).text();
  assert.match(metrics, /^switchboard_event_streams 2$/m);

  // the open stream still follows its run
  const reader = events.res.body!.getReader();
  let seen = "";
  while (!seen.includes("run_started")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += new TextDecoder().decode(value);
  }
  assert.match(seen, /event: run_started/);
  reader.releaseLock();

  await events.close();
  // the server lets go of a stream whose client went away
  const deadline = Date.now() + 5_000;
  let gauge = "";
  while (Date.now() < deadline) {
    gauge = /^switchboard_event_streams (\d+)$/m.exec(
      await (await fetch(`${server.base}/v1/metrics`)).text(),
    )?.[1] ?? "";
    if (gauge === "1") break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(gauge, "1");
  const again = await open("/v1/runs/feed");
  assert.equal(again.res.status, 200);
  await again.close();
  await feed.close();
});

Deno.test("SWITCHBOARD_MAX_STREAMS defaults to 4,096 and must be a positive integer", () => {
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  assert.equal(readConfig(env({})).maxStreams, 4096);
  assert.equal(readConfig(env({ SWITCHBOARD_MAX_STREAMS: "10" })).maxStreams, 10);
  assert.throws(() => readConfig(env({ SWITCHBOARD_MAX_STREAMS: "0" })), /MAX_STREAMS/);
  assert.throws(() => readConfig(env({ SWITCHBOARD_MAX_STREAMS: "many" })), /MAX_STREAMS/);
});

Deno.test("HEAD on an event stream never holds a slot; HEAD elsewhere has the GET's content-length", async () => {
  await using server = await startServer({ config: { maxStreams: 2 } });
  await server.mint(["parked"]);
  const started = await postInline(server.base, "/v1/runs", askBlueprint("parked"), {
    init_ctx: { q: "waits" },
    ttl_secs: 60,
  });
  const { run_id: runId } = await started.json();
  for (let i = 0; i < 6; i++) {
    for (const path of [`/v1/runs/${runId}/events`, "/v1/runs/feed"]) {
      const head = await fetch(`${server.base}${path}`, { method: "HEAD" });
      assert.equal(head.status, 200, path);
      assert.equal(head.headers.get("content-type")?.split(";")[0], "text/event-stream");
      await head.body?.cancel();
    }
  }
  const metrics = await (await fetch(`${server.base}/v1/metrics`)).text();
  assert.match(metrics, /^switchboard_event_streams 0$/m);
  const events = await fetch(`${server.base}/v1/runs/${runId}/events`);
  assert.equal(events.status, 200); // the slots are all free
  await events.body?.cancel();

  for (const path of ["/v1/blueprints/main", `/v1/runs/${runId}`, "/v1/openapi.json"]) {
    const get = await fetch(`${server.base}${path}`);
    const length = (await get.arrayBuffer()).byteLength;
    const head = await fetch(`${server.base}${path}`, { method: "HEAD" });
    assert.equal(head.status, 200, path);
    assert.equal(head.headers.get("content-length"), String(length), path);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  }
});
