/**
 * Logs (SPEC §7): JSON lines on stderr with `LOG_LEVEL`, one per request, WS
 * connect and close, and operator request sent and settled; secrets never appear.
 * The server runs as a child process, exactly as `deno task start` runs it.
 */
import assert from "node:assert/strict";
import { openSocket } from "../_helpers.ts";
import { nextOf, operatorAgentBlueprint } from "../engine/_loop.ts";
import { type ChildServer, spawnServer } from "./_child_server.ts";

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");

type Line = Record<string, unknown> & { ts: string; level: string; msg: string };

function parseLines(stderr: string): Line[] {
  return stderr.split("\n").filter((l) => l.trim() !== "").map((l) => {
    const line = JSON.parse(l) as Line; // throws on any non-JSON line
    assert.ok(!Number.isNaN(Date.parse(line.ts)), l);
    assert.ok(["debug", "info", "warn", "error"].includes(line.level), l);
    assert.equal(typeof line.msg, "string", l);
    return line;
  });
}

async function call(
  server: ChildServer,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; text?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.text !== undefined) headers["content-type"] = "text/plain";
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers,
    body: options.body !== undefined ? JSON.stringify(options.body) : options.text,
  });
  const text = await res.text();
  const isJson = res.headers.get("content-type")?.startsWith("application/json");
  return { status: res.status, body: isJson ? JSON.parse(text) : text };
}

Deno.test("logs of a full run are JSON lines with ids and never carry a secret", async () => {
  const apiToken = randomHex(24);
  const wrongToken = randomHex(24);
  await using server = await spawnServer({ SWITCHBOARD_API_TOKEN: apiToken, LOG_LEVEL: "debug" });

  assert.equal((await call(server, "GET", "/v1/runs", { token: wrongToken })).status, 401);
  const minted = await call(server, "POST", "/v1/operators", {
    token: apiToken,
    body: { roles: ["main-ai"] },
  });
  assert.equal(minted.status, 200);
  const { sid, token } = minted.body;
  const attached = await call(server, "POST", "/v1/sessions", {
    token: apiToken,
    body: { agent_id: "agent", role: "worker", ttl_secs: 60 },
  });
  assert.equal(attached.status, 200);

  const first = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  await first.close();
  const ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, {
    token,
    viaProtocol: true,
  });
  assert.equal((await call(server, "GET", `/v1/operators/${sid}`, { token })).status, 200);

  const started = await call(server, "POST", "/v1/runs", {
    token: apiToken,
    body: {
      blueprint: {
        kind: "inline",
        value: operatorAgentBlueprint({ spawner_hints: { layers: ["senior_escalation"] } }),
      },
      init_ctx: { goal: "log test" },
      operator: { senior_bridge_id: sid },
    },
  });
  assert.equal(started.status, 202);
  const runId = started.body.run_id as string;
  const spawn = await nextOf(ws, "spawn");
  const cap = spawn.capability_token;
  const handle = spawn.worker_handle!;
  const q = `task_id=${spawn.task_id}`;
  assert.equal((await call(server, "GET", `/v1/worker/prompt?${q}`, { token: cap })).status, 200);
  const emitted = await call(server, "POST", `/v1/data/emit?token=${encodeURIComponent(cap)}`, {
    body: {
      task_id: spawn.task_id,
      attempt: 1,
      producer_agent: "impl",
      event: { type: "progress", stage: "working" },
    },
  });
  assert.equal(emitted.status, 200);
  assert.equal(
    (await call(server, "GET", `/v1/worker/prompt?${q}`, { token: handle })).status,
    200,
  );
  const submitted = await call(server, "POST", "/v1/worker/submit?ok=false", {
    token: handle,
    text: "blocked on a decision",
  });
  assert.equal(submitted.status, 204);
  ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  const ask = await nextOf(ws, "ask");
  ws.send({ type: "answer", req_id: ask.req_id, value: { decision: "go" } });
  let run = await call(server, "GET", `/v1/runs/${runId}`, { token: apiToken });
  for (let i = 0; run.body.status === "running" && i < 200; i++) {
    const events = await fetch(`${server.base}/v1/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${apiToken}` },
    });
    await events.text(); // the stream ends with the run
    run = await call(server, "GET", `/v1/runs/${runId}`, { token: apiToken });
  }
  assert.equal(run.body.status, "succeeded", JSON.stringify(run.body));
  assert.equal(
    (await call(server, "GET", `/v1/worker/prompt?${q}`, { token: cap })).status,
    410,
    "a request whose token is refused is logged too",
  );
  assert.equal((await call(server, "GET", "/v1/metrics", { token: apiToken })).status, 200);
  await ws.close();

  const output = await server.stop();
  assert.equal(output.code, 0, output.stderr);
  const secrets = {
    apiToken,
    wrongToken,
    operatorToken: token,
    capabilityToken: cap,
    workerHandle: handle,
    sessionId: attached.body.session_id as string,
  };
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(secret.length >= 8, name);
    assert.ok(!output.stderr.includes(secret), `${name} appears in the logs`);
    assert.ok(!output.stdout.includes(secret), `${name} appears on stdout`);
  }
  // The capability token is base64url JSON: no part of its payload leaks either.
  assert.ok(!output.stderr.includes(cap.slice(0, 24)));

  const lines = parseLines(output.stderr);
  const requests = lines.filter((l) => l.msg === "http request");
  assert.ok(requests.length >= 14, requests.map((l) => `${l.route} ${l.status}`).join("\n"));
  for (const l of requests) {
    for (const key of ["method", "path", "route", "status", "ms"]) assert.ok(key in l, key);
    assert.ok(!String(l.path).includes("?"), "no query string is logged");
  }
  const byRoute = (route: string) => requests.filter((l) => l.route === route);
  assert.ok(byRoute("/v1/operators/:sid").every((l) => l.sid === sid));
  assert.ok(byRoute("/v1/runs/:id").every((l) => l.run_id === runId));
  assert.deepEqual(byRoute("/v1/runs").map((l) => l.status).sort(), [202, 401]);
  // the run a request started is named on its line
  assert.deepEqual(byRoute("/v1/runs").map((l) => l.run_id).sort(), [runId, undefined]);
  assert.equal(byRoute("/v1/data/emit").length, 1, "the answering route names the line");

  const sent = lines.filter((l) => l.msg === "operator request sent");
  const settled = lines.filter((l) => l.msg === "operator request settled");
  assert.deepEqual(sent.map((l) => l.kind).sort(), ["ask", "spawn"]);
  assert.deepEqual(settled.map((l) => l.req_id).sort(), [ask.req_id, spawn.req_id].sort());
  for (const l of [...sent, ...settled]) {
    assert.equal(l.sid, sid);
    assert.equal(l.run_id, runId);
    assert.ok(typeof l.req_id === "string" && l.req_id.startsWith(`${sid}-`));
  }
  const connects = lines.filter((l) => l.msg === "operator socket connected");
  const closes = lines.filter((l) => l.msg === "operator socket closed");
  assert.equal(connects.length, 2);
  assert.ok(closes.length >= 1);
  assert.ok([...connects, ...closes].every((l) => l.sid === sid));
  assert.ok(lines.some((l) => l.msg === "run ended" && l.run_id === runId));
});

Deno.test("LOG_LEVEL=warn keeps request lines out of the logs", async () => {
  await using server = await spawnServer({ LOG_LEVEL: "warn" });
  assert.equal((await call(server, "GET", "/v1/healthz")).status, 200);
  assert.equal((await call(server, "GET", "/no/such/path")).status, 404);
  const output = await server.stop();
  assert.equal(output.code, 0, output.stderr);
  const lines = parseLines(output.stderr);
  assert.ok(lines.every((l) => l.level === "warn" || l.level === "error"), output.stderr);
  assert.match(output.stdout, /^switchboard listening on http:\/\/127\.0\.0\.1:\d+\n$/);
});

Deno.test("a socket the server closes (replaced 4000, seat deleted 4001) is logged as one the client closes", async () => {
  await using server = await spawnServer({});
  const minted = await call(server, "POST", "/v1/operators", { body: { roles: ["closer"] } });
  const { sid, token } = minted.body;
  const first = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  const second = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  assert.equal((await first.closed).code, 4000);
  assert.equal((await call(server, "DELETE", `/v1/operators/${sid}`, { token })).status, 204);
  assert.equal((await second.closed).code, 4001);
  const output = await server.stop();
  const closes = parseLines(output.stderr).filter((l) => l.msg === "operator socket closed");
  assert.deepEqual(closes.map((l) => [l.sid, l.code]).sort(), [[sid, 4000], [sid, 4001]]);
  assert.equal(closes.find((l) => l.code === 4000)?.held, false, "it no longer held the seat");
});
