/**
 * What the console's run views read: the list's filters, id search and cursor,
 * a run's trace (each step's input and output), `ctx_updated` events, re-runs and
 * the live run feed. On the KV store, the way main.ts boots.
 */
import assert from "node:assert/strict";
import { type OpenDeps, openDeps } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import { openSocket, startServer } from "../_helpers.ts";
import { get, nextOf, operatorAgentBlueprint, post, runEnded, startRun } from "../engine/_loop.ts";
import { call, spawnServer, tempKv } from "../durable/_child.ts";

async function kvServer() {
  const deps: OpenDeps = await openDeps(defaultConfig({ kvPath: ":memory:" }));
  const server = await startServer({ deps });
  return {
    server,
    async [Symbol.asyncDispose]() {
      await server.close();
      await deps.close();
    },
  };
}

/** A three-step identity Blueprint: each step echoes its input into ctx. */
export function threeSteps(id = "three") {
  return {
    id,
    agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: {
      kind: "seq",
      children: [
        { kind: "step", ref: "echo", in: "$.topic", out: "$.a" },
        { kind: "assign", at: "$.n", value: "1" },
        { kind: "step", ref: "echo", in: "'second'", out: "$.b" },
        { kind: "step", ref: "echo", in: '{"n": $.n}', out: "$.a" },
      ],
    },
  };
}

type Run = { run_id: string; status: string; blueprint_id?: string; init_ctx?: unknown };
type Page = { runs: Run[]; total?: number; next_before?: string };

Deno.test("GET /v1/runs filters by status and Blueprint, searches ids and pages with a cursor", async () => {
  await using kv = await kvServer();
  const { server } = kv;
  const started: Record<string, string[]> = { main: [], three: [] };
  for (let i = 0; i < 60; i++) {
    const id = i % 3 === 0 ? "three" : "main";
    const blueprint = id === "main"
      ? { kind: "id", id: "main" }
      : { kind: "inline", value: threeSteps() };
    const runId = await startRun(server, { blueprint, init_ctx: { i, topic: "t" } });
    started[id].push(runId);
    await runEnded(server, runId);
  }
  const all = (await get(server, "/v1/runs?limit=100")).body as Page;
  assert.equal(all.runs.length, 60);
  assert.equal(
    all.runs[0].blueprint_id,
    started.main.includes(all.runs[0].run_id) ? "main" : "three",
  );

  // The server's order (newest first; runs started in the same millisecond in a
  // fixed order of their ids) is what every filter keeps.
  const order = all.runs.map((r) => r.run_id);
  const expected = (id: string) => order.filter((r) => started[id].includes(r));
  const three = (await get(server, "/v1/runs?blueprint=three&limit=100")).body as Page;
  assert.equal(three.total, 20);
  assert.deepEqual(three.runs.map((r) => r.run_id), expected("three"));
  assert.ok(three.runs.every((r) => r.blueprint_id === "three"));

  // Pages of 25 over the 40 `main` runs, newest first, without gaps or repeats.
  const seen: string[] = [];
  let cursor = "";
  for (let page = 0; page < 5; page++) {
    const res = (await get(server, `/v1/runs?blueprint=main&limit=25${cursor}`)).body as Page;
    assert.equal(res.total, 40);
    seen.push(...res.runs.map((r) => r.run_id));
    if (!res.next_before) break;
    cursor = `&before=${res.next_before}`;
  }
  assert.deepEqual(seen, expected("main"));

  const one = started.three[4];
  const found = (await get(server, `/v1/runs?q=${one.slice(-8)}`)).body as Page;
  assert.deepEqual(found.runs.map((r) => r.run_id), [one]);
  assert.deepEqual(found.runs[0].init_ctx, { i: 12, topic: "t" });
  const failed = (await get(server, "/v1/runs?status=failed&blueprint=main")).body as Page;
  assert.deepEqual([failed.runs.length, failed.total], [0, 0]);
  const bad = await get(server, "/v1/runs?q=");
  assert.equal(bad.status, 400);
});

Deno.test("GET /v1/runs/:id/trace shows each step's input, output, duration and the ctx after it", async () => {
  await using kv = await kvServer();
  const { server } = kv;
  const runId = await startRun(server, {
    blueprint: { kind: "inline", value: threeSteps() },
    init_ctx: { topic: "hello" },
  });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded");
  const trace = (await get(server, `/v1/runs/${runId}/trace`)).body as {
    steps: Array<{ input: string; output: { echoed: string }; ok: boolean; duration_ms: number }>;
  };
  assert.deepEqual(trace.steps.map((s) => s.input), ["hello", "second", '{"n":1}']);
  assert.deepEqual(trace.steps.map((s) => s.output.echoed), ["hello", "second", '{"n":1}']);
  assert.ok(trace.steps.every((s) => s.ok && s.duration_ms >= 0));

  const ctxs = (trace.steps as unknown as Array<{ ctx_after: Record<string, unknown> }>)
    .map((s) => s.ctx_after);
  assert.deepEqual(ctxs[0], { topic: "hello", a: trace.steps[0].output });
  assert.deepEqual(Object.keys(ctxs[1]).sort(), ["a", "b", "n", "topic"]);
  assert.equal(ctxs[1].n, 1, "the assign between the steps shows in the ctx after the next");
  assert.deepEqual(ctxs[2], (run as { final_ctx: unknown }).final_ctx);
  assert.equal((await get(server, "/v1/runs/run-nope/trace")).status, 404);
});

Deno.test("POST /v1/runs/:id/rerun starts the same Blueprint with the same input", async () => {
  await using kv = await kvServer();
  const { server } = kv;
  const first = await startRun(server, {
    blueprint: { kind: "inline", value: threeSteps("again") },
    init_ctx: { topic: "same" },
    ttl_secs: 77,
  });
  const a = await runEnded(server, first);
  const res = await post(server, `/v1/runs/${first}/rerun`, {});
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const second = res.body!.run_id as string;
  assert.notEqual(second, first);
  const b = await runEnded(server, second);
  assert.deepEqual(b.final_ctx, a.final_ctx);
  const view = (await get(server, `/v1/runs/${second}`)).body!;
  assert.equal(view.effective_ttl_secs, 77);
  assert.equal(view.blueprint_id, "again");
  assert.equal((await post(server, "/v1/runs/run-nope/rerun", {})).status, 404);
});

/** Follows `GET /v1/runs/feed` and returns its events once `count` have come (or 5 s passed). */
async function followFeed(server: { base: string }) {
  const ctl = new AbortController();
  const res = await fetch(`${server.base}/v1/runs/feed`, { signal: ctl.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const seen: Array<{ type: string; run: Run }> = [];
  return async (count: number) => {
    const deadline = AbortSignal.timeout(5_000);
    while (seen.length < count && !deadline.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const data = buf.slice(0, end).split("\n").find((l) => l.startsWith("data:"));
        buf = buf.slice(end + 2);
        if (data) seen.push(JSON.parse(data.slice(5)));
      }
    }
    ctl.abort();
    await reader.cancel().catch(() => {});
    return seen;
  };
}

Deno.test("GET /v1/runs/feed pushes runs as they start and end", async () => {
  await using kv = await kvServer();
  const { server } = kv;
  const feed = await followFeed(server);
  const runId = await startRun(server, { blueprint: { kind: "id", id: "main" }, init_ctx: {} });
  const seen = await feed(2);
  assert.deepEqual(seen.map((e) => [e.type, e.run.run_id]), [
    ["run_started", runId],
    ["run_ended", runId],
  ]);
  assert.equal(seen[1].run.status, "succeeded");
  assert.equal(seen[1].run.blueprint_id, "main");
});

Deno.test("the run feed tells the end of a run resumed after a restart", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const minted = await call(first, "POST", "/v1/operators", { roles: ["main-ai"] });
  const { sid, token } = minted.body as { sid: string; token: string };
  const ws1 = await openSocket(`${first.wsBase}/v1/operators/${sid}/ws`, { token });
  const started = await call(first, "POST", "/v1/runs", {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: {},
  });
  assert.equal(started.status, 202);
  const runId = started.body!.run_id as string;
  await nextOf(ws1, "spawn");
  await first.kill("SIGTERM"); // the run stays running in the store
  await ws1.closed;

  await using second = await spawnServer(kvFile.path);
  const feed = await followFeed(second);
  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  const spawn = await nextOf(ws2, "spawn");
  ws2.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "done" });
  const seen = await feed(1);
  assert.deepEqual(seen.map((e) => [e.type, e.run.run_id, e.run.status]), [
    ["run_ended", runId, "succeeded"],
  ]);
  await ws2.close();
});
