/**
 * HTTP webhook workers (reference/engine.md §5.5) against a real local HTTP
 * server: `sync` and `callback` modes, timeouts, bad bodies, cancellation.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import { createDeps } from "../../deps.ts";
import { startServer, type TestServer } from "../_helpers.ts";
import { get, post, runEnded, startRun } from "./_loop.ts";

/** What the webhook received. */
interface Hook {
  path: string;
  headers: Headers;
  body: Record<string, Json>;
  signal: AbortSignal;
}

type Reply = (hook: Hook) => Response | Promise<Response>;

/** A local webhook receiver on port 0, routing by path. */
function webhookServer(routes: Record<string, Reply>) {
  const hooks: Hook[] = [];
  const background: Promise<unknown>[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      const hook = { path, headers: req.headers, body: await req.json(), signal: req.signal };
      hooks.push(hook);
      const reply = routes[path];
      return reply ? await reply(hook) : new Response("no route", { status: 404 });
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    hooks,
    url: (path: string) => `${base}${path}`,
    /** Keeps work that outlives a reply so the test can await it. */
    later(work: Promise<unknown>) {
      background.push(work);
    },
    async [Symbol.asyncDispose]() {
      await Promise.allSettled(background);
      await server.shutdown();
    },
  };
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** Starts a Switchboard whose `rust_fn` ids are webhooks. */
function withWebhooks(table: Record<string, Record<string, unknown>>) {
  return startServer({ config: { webhooksJson: JSON.stringify(table) } });
}

function blueprint(fnId: string, flow?: unknown) {
  return {
    kind: "inline",
    value: {
      id: "webhook",
      agents: [{ name: "impl", kind: "rust_fn", spec: { fn_id: fnId } }],
      flow: flow ?? { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
    },
  };
}

function runTask(server: TestServer, fnId: string, extra: Record<string, unknown> = {}) {
  return post(server, "/v1/tasks", { blueprint: blueprint(fnId), init_ctx: {}, ...extra });
}

const STEP_FAILED = "run: launch: flow eval: dispatcher error for ref 'impl': dispatch failed: ";
const WORKER_ERROR = `${STEP_FAILED}worker fn returned error: `;
const PUBLIC_URL = "http://127.0.0.1:7777"; // defaultConfig's publicUrl

/** The path and query of an endpoint the server handed out, on the test server. */
function onServer(server: TestServer, endpoint: Json): string {
  const url = new URL(String(endpoint));
  return `${server.base}${url.pathname}${url.search}`;
}

Deno.test("sync webhook gets the documented body and headers, and its value is the result", async () => {
  await using hook = webhookServer({
    // The worker reads its prompt with the handle it was given, then answers.
    "/sync": async ({ body }) => {
      const endpoints = body.endpoints as Record<string, Json>;
      const res = await fetch(onServer(server, endpoints.prompt), {
        headers: { authorization: `Bearer ${body.worker_handle}` },
      });
      return Response.json({ value: { fetched: await res.json() } });
    },
  });
  await using server = await withWebhooks({
    echo: { url: hook.url("/sync"), headers: { "x-secret": "s3" } },
  });
  const res = await runTask(server, "echo");
  assert.equal(res.status, 200, JSON.stringify(res.body));

  assert.equal(hook.hooks.length, 1);
  const { headers, body } = hook.hooks[0];
  assert.equal(headers.get("content-type"), "application/json");
  assert.equal(headers.get("x-secret"), "s3");
  const taskId = body.task_id as string;
  assert.match(taskId, /^T-/);
  assert.match(body.worker_handle as string, /^wh-/);
  assert.equal(typeof body.capability_token, "string");
  assert.deepEqual({ ...body, task_id: 0, worker_handle: 0, capability_token: 0 }, {
    task_id: 0,
    attempt: 1,
    agent: "impl",
    prompt: "do X",
    system: null,
    worker_handle: 0,
    capability_token: 0,
    endpoints: {
      prompt: `${PUBLIC_URL}/v1/worker/prompt?task_id=${taskId}`,
      submit: `${PUBLIC_URL}/v1/worker/submit`,
      result: `${PUBLIC_URL}/v1/worker/result`,
      data_emit: `${PUBLIC_URL}/v1/data/emit`,
    },
  });
  assert.deepEqual(res.body!.final_ctx, {
    r: { fetched: { task_id: taskId, attempt: 1, agent: "impl", prompt: "do X" } },
  });
});

Deno.test("sync webhook: ok defaults to true, ok:false blocks the step", async () => {
  await using hook = webhookServer({
    "/pass": () => Response.json({ value: [1, { a: null }] }),
    "/explicit": () => Response.json({ value: "fine", ok: true }, { status: 201 }),
    "/block": () => Response.json({ value: { why: "nope" }, ok: false }),
  });
  await using server = await withWebhooks({
    pass: { url: hook.url("/pass") },
    explicit: { url: hook.url("/explicit"), mode: "sync" },
    block: { url: hook.url("/block") },
  });
  const pass = await runTask(server, "pass");
  assert.equal(pass.status, 200, JSON.stringify(pass.body));
  assert.deepEqual(pass.body!.final_ctx, { r: [1, { a: null }] });
  const explicit = await runTask(server, "explicit");
  assert.deepEqual(explicit.body!.final_ctx, { r: "fine" });
  const block = await runTask(server, "block");
  assert.equal(block.status, 400);
  assert.equal(
    block.body!.error,
    `run: launch: flow eval: dispatcher error for ref 'impl': blocked: {"why":"nope"}`,
  );
  const run = await get(server, `/v1/runs/${block.body!.run_id}`);
  const steps = run.body!.steps as { verdict: string }[];
  assert.deepEqual(steps.map((s) => s.verdict), ["blocked"]);
});

Deno.test("sync webhook: bad bodies, error statuses and timeouts fail the step with clear texts", async (t) => {
  await using hook = webhookServer({
    "/text": () => new Response("all good"),
    "/empty": () => new Response(""),
    "/no-value": () => Response.json({ val: 1 }),
    "/array": () => Response.json([{ value: 1 }]),
    "/bad-ok": () => Response.json({ value: 1, ok: "yes" }),
    "/e500": () => Response.json({ value: 1 }, { status: 500 }),
    "/e503": () => new Response("busy", { status: 503 }),
    "/hang": async ({ signal }) => {
      await aborted(signal);
      return Response.json({ value: "too late" });
    },
  });
  const closed = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(),
  );
  const deadUrl = `http://127.0.0.1:${closed.addr.port}/gone`;
  await closed.shutdown();
  await using server = await withWebhooks({
    text: { url: hook.url("/text") },
    empty: { url: hook.url("/empty") },
    no_value: { url: hook.url("/no-value") },
    array: { url: hook.url("/array") },
    bad_ok: { url: hook.url("/bad-ok") },
    e500: { url: hook.url("/e500") },
    e503: { url: hook.url("/e503") },
    e404: { url: hook.url("/unrouted") },
    hang: { url: hook.url("/hang"), timeout_ms: 150 },
    dead: { url: deadUrl },
  });
  const cases: [string, string | RegExp][] = [
    ["text", "webhook answered a body that is not JSON"],
    ["empty", "webhook answered a body that is not JSON"],
    ["no_value", "webhook answered a body without a JSON `value`"],
    ["array", "webhook answered a body without a JSON `value`"],
    ["bad_ok", "webhook answered a body without a JSON `value`"],
    ["e500", "webhook answered 500"],
    ["e503", "webhook answered 503"],
    ["e404", "webhook answered 404"],
    ["hang", "webhook timed out after 150 ms"],
    ["dead", /^webhook request failed: .+/],
  ];
  for (const [fnId, expected] of cases) {
    await t.step(fnId, async () => {
      const res = await runTask(server, fnId);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      const error = res.body!.error as string;
      assert.ok(error.startsWith(WORKER_ERROR), error);
      if (typeof expected === "string") assert.equal(error, WORKER_ERROR + expected);
      else assert.match(error.slice(WORKER_ERROR.length), expected);
      const run = await get(server, `/v1/runs/${res.body!.run_id}`);
      assert.equal(run.body!.status, "failed");
      const steps = run.body!.steps as { verdict: string }[];
      assert.deepEqual(steps.map((s) => s.verdict), ["failed"]);
    });
  }
});

Deno.test("a webhook failure is an ordinary step error that try catches", async () => {
  await using hook = webhookServer({ "/e500": () => new Response("x", { status: 500 }) });
  await using server = await withWebhooks({ e500: { url: hook.url("/e500") } });
  const res = await post(server, "/v1/tasks", {
    blueprint: blueprint("e500", {
      kind: "try",
      body: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
      catch: { kind: "assign", at: "$.r", value: "'fallback'" },
      err_at: "$.err",
    }),
    init_ctx: {},
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body!.final_ctx, {
    r: "fallback",
    err: "dispatcher error for ref 'impl': dispatch failed: worker fn returned error: " +
      "webhook answered 500",
  });
});

Deno.test("callback webhook: a 202 then a posted result completes the step", async () => {
  await using hook = webhookServer({
    "/result": ({ body }) => {
      hook.later(
        fetch(onServer(server, (body.endpoints as Record<string, Json>).result), {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${body.capability_token}`,
          },
          body: JSON.stringify({ task_id: body.task_id, value: { done: body.prompt } }),
        }).then((res) => res.body?.cancel()),
      );
      return new Response("accepted, not JSON", { status: 202 });
    },
    "/submit": ({ body }) => {
      hook.later(
        fetch(onServer(server, (body.endpoints as Record<string, Json>).submit), {
          method: "POST",
          headers: { authorization: `Bearer ${body.worker_handle}` },
          body: "raw text answer \n",
        }).then((res) => res.body?.cancel()),
      );
      return new Response(null, { status: 202 });
    },
    "/blocked": ({ body }) => {
      hook.later(
        fetch(`${server.base}/v1/worker/result`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${body.capability_token}`,
          },
          body: JSON.stringify({ task_id: body.task_id, value: "NO", ok: false }),
        }).then((res) => res.body?.cancel()),
      );
      return new Response(null, { status: 200 });
    },
  });
  await using server = await withWebhooks({
    cb_result: { url: hook.url("/result"), mode: "callback" },
    cb_submit: { url: hook.url("/submit"), mode: "callback" },
    cb_blocked: { url: hook.url("/blocked"), mode: "callback" },
  });
  const result = await runTask(server, "cb_result");
  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.deepEqual(result.body!.final_ctx, { r: { done: "do X" } });

  const submit = await runTask(server, "cb_submit");
  assert.equal(submit.status, 200, JSON.stringify(submit.body));
  assert.deepEqual(submit.body!.final_ctx, { r: "raw text answer" });

  const blocked = await runTask(server, "cb_blocked");
  assert.equal(blocked.status, 400);
  assert.equal(
    blocked.body!.error,
    `run: launch: flow eval: dispatcher error for ref 'impl': blocked: "NO"`,
  );
});

Deno.test("callback webhook: no final in time, non-2xx and late posts", async () => {
  const tokens: { task_id: string; capability_token: string }[] = [];
  await using hook = webhookServer({
    "/silent": ({ body }) => {
      tokens.push({
        task_id: body.task_id as string,
        capability_token: body.capability_token as string,
      });
      return new Response(null, { status: 202 });
    },
    "/e503": () => new Response("busy", { status: 503 }),
  });
  await using server = await withWebhooks({
    silent: { url: hook.url("/silent"), mode: "callback", timeout_ms: 150 },
    e503: { url: hook.url("/e503"), mode: "callback" },
  });
  const silent = await runTask(server, "silent");
  assert.equal(silent.status, 400, JSON.stringify(silent.body));
  assert.equal(silent.body!.error, `${WORKER_ERROR}webhook timed out after 150 ms`);

  // The task has ended: a late result is refused, not applied.
  const late = await fetch(`${server.base}/v1/worker/result`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${tokens[0].capability_token}`,
    },
    body: JSON.stringify({ task_id: tokens[0].task_id, value: "late" }),
  });
  assert.equal(late.status, 410, await late.text());

  const refused = await runTask(server, "e503");
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  assert.equal(refused.body!.error, `${STEP_FAILED}webhook answered 503`);
  const run = await get(server, `/v1/runs/${refused.body!.run_id}`);
  const steps = run.body!.steps as { verdict: string }[];
  assert.deepEqual(steps.map((s) => s.verdict), ["failed"]); // a spawn failure never stays running
});

/**
 * A webhook that never answers, on a raw TCP listener: `started` resolves once a
 * whole request has arrived, `closed` when the client closes the connection.
 * (Raw TCP, because that is what shows the worker the work was called off.)
 */
function hangingHook() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const started = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  const conns: Deno.Conn[] = [];
  const served = (async () => {
    const conn = await listener.accept();
    conns.push(conn);
    const buf = new Uint8Array(65536);
    let text = "";
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      const end = text.indexOf("\r\n\r\n");
      const length = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? NaN);
      if (end >= 0 && text.length - end - 4 >= length) started.resolve();
    }
    closed.resolve();
  })().catch(() => closed.resolve());
  const port = (listener.addr as Deno.NetAddr).port; // a TCP listener has a NetAddr
  return {
    started: started.promise,
    closed: closed.promise,
    url: `http://127.0.0.1:${port}/hang`,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // already closed by the read loop's end
        }
      }
      await served;
    },
  };
}

Deno.test("cancelling a run closes its webhook connection and cancels the step", async () => {
  await using hook = hangingHook();
  await using server = await withWebhooks({ hang: { url: hook.url } });
  const runId = await startRun(server, { blueprint: blueprint("hang"), init_ctx: {} });
  await hook.started;
  const res = await fetch(`${server.base}/v1/runs/${runId}`, { method: "DELETE" });
  assert.equal(res.status, 200);
  // The answer is the run as it ended: the step in flight ended with it.
  const answered = await res.json();
  assert.equal(answered.status, "cancelled");
  assert.deepEqual(answered.steps.map((s: { verdict: string }) => s.verdict), ["cancelled"]);
  await hook.closed;
  const run = await runEnded(server, runId);
  assert.equal(run.status, "cancelled");
  assert.equal(run.error, "run cancelled");
  assert.deepEqual(run.steps.map((s) => s.verdict), ["cancelled"]);
});

Deno.test("the run's TTL ends a webhook that outlives it", async () => {
  await using hook = hangingHook();
  await using server = await withWebhooks({ hang: { url: hook.url, timeout_ms: 60_000 } });
  const res = await runTask(server, "hang", { ttl_secs: 1 });
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.match(res.body!.error as string, /^ttl expired/);
  await hook.started;
  await hook.closed;
  const run = await runEnded(server, res.body!.run_id as string);
  assert.equal(run.status, "failed");
  assert.deepEqual(run.steps.map((s) => s.verdict), ["cancelled"]);
});

Deno.test("SWITCHBOARD_WEBHOOKS with a bad entry fails at startup with its path", async () => {
  await assert.rejects(
    createDeps({ config: { webhooksJson: JSON.stringify({ w: { url: "ftp://x/y" } }) } }),
    /SWITCHBOARD_WEBHOOKS: w\.url: /,
  );
  await assert.rejects(
    createDeps({
      config: { webhooksJson: JSON.stringify({ w: { url: "http://x/", mode: "async" } }) },
    }),
    /SWITCHBOARD_WEBHOOKS: w\.mode: /,
  );
});
