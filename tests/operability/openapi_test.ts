/**
 * The OpenAPI document (SPEC §7): valid 3.1, complete, and true to the wire.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";
import type { OpenApiDocument } from "../../routes/_openapi.ts";
import { startServer, type TestServer } from "../_helpers.ts";
import { nextOf, operatorAgentBlueprint, seat } from "../engine/_loop.ts";
import { type OpenApiChecker, openApiChecker } from "./_openapi_check.ts";

async function documentOf(app: ReturnType<typeof createApp>): Promise<OpenApiDocument> {
  const res = await app.request("/v1/openapi.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

async function freshDocument() {
  const app = createApp(await createDeps());
  return { app, doc: await documentOf(app) };
}

const template = (path: string) =>
  path.replace(/:[A-Za-z0-9_]+/g, "{}").replace(/\{[^}]*\}/g, "{}");

Deno.test("GET /v1/openapi.json validates against the OpenAPI 3.1 schema", async () => {
  const { doc } = await freshDocument();
  assert.equal(doc.openapi, "3.1.0");
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  assert.equal(validator.version, "3.1");
  assert.ok(result.valid, JSON.stringify(result.errors, null, 1));
});

Deno.test("every route of the app is in the OpenAPI document", async () => {
  const { app, doc } = await freshDocument();
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item ?? {})) {
      documented.add(`${method.toUpperCase()} ${template(path)}`);
    }
  }
  // Trailing-slash twins (`/console/`, `/docs/`) redirect and are left out on purpose.
  const routes = app.routes.filter((r) => r.method !== "ALL" && !r.path.endsWith("/"));
  assert.ok(routes.length > 30, "the app has its routes");
  const missing = routes
    .map((r) => `${r.method} ${template(r.path)}`)
    .filter((key) => !documented.has(key));
  assert.deepEqual(missing, [], "routes missing from the document");
  const ids = new Set<string>();
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item ?? {}) as Array<{ operationId?: string }>) {
      assert.ok(op.operationId, "every operation has an id");
      assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} is unique`);
      ids.add(op.operationId);
    }
  }
});

Deno.test("the OpenAPI document names its components and every $ref resolves", async () => {
  const { doc } = await freshDocument();
  const schemas = doc.components.schemas ?? {};
  for (const name of Object.keys(schemas)) assert.doesNotMatch(name, /^__|^Anonymous/, name);
  const refs = new Set<string>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        if (k === "$ref" && typeof v === "string") refs.add(v);
        else walk(v);
      }
    }
  };
  walk(doc);
  for (const ref of refs) {
    const name = ref.replace("#/components/schemas/", "");
    assert.ok(ref.startsWith("#/components/schemas/") && name in schemas, `dangling ${ref}`);
  }
  const schemes = Object.keys(doc.components.securitySchemes ?? {}).sort();
  assert.deepEqual(schemes, ["apiToken", "operatorToken", "sessionId", "workerToken"]);
});

Deno.test("the OpenAPI document points the WebSocket route at the AsyncAPI document", async () => {
  const { doc } = await freshDocument();
  const schemas = doc.components.schemas ?? {};
  // Frames live in /v1/asyncapi.json; the requests a seat can list stay here.
  for (const name of ["RequestFrame", "AskFrame", "HookBeforeFrame", "SpawnFrame"]) {
    assert.ok(name in schemas, `${name} is a component`);
  }
  const ws = doc.paths["/v1/operators/{sid}/ws"]?.get as Record<string, unknown>;
  assert.equal(ws["x-asyncapi"], "/v1/asyncapi.json");
});

/** One documented exchange: checks the request body and the answer against the document. */
async function exchange(
  server: TestServer,
  check: OpenApiChecker,
  method: string,
  documentedPath: string,
  options: {
    path?: string;
    body?: unknown;
    headers?: Record<string, string>;
    /** The body is wrong on purpose: skip its check. */
    invalid?: boolean;
  } = {},
) {
  const op = check.operation(method, documentedPath);
  const { body } = options;
  if (body !== undefined && !options.invalid) {
    assert.ok(op.request, `${method} ${documentedPath} documents its request body`);
    check.assertConforms(op.request, body, `request of ${method} ${documentedPath}`);
  }
  const res = await fetch(`${server.base}${options.path ?? documentedPath}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const value = text ? JSON.parse(text) : null;
  if (res.status !== 204) {
    const schema = op.response(res.status);
    assert.ok(schema, `${method} ${documentedPath} documents a JSON ${res.status}: ${text}`);
    check.assertConforms(schema, value, `${res.status} of ${method} ${documentedPath}`);
  }
  return { status: res.status, body: value };
}

Deno.test("a real request and answer of each route family conform to the OpenAPI document", async () => {
  await using server = await startServer();
  const check = openApiChecker(await documentOf(createApp(server.deps)));
  const frames = check.operation("GET", "/v1/operators/{sid}/ws");
  assert.equal(frames.request, undefined);

  const op = await seat(server, ["main-ai"]);
  await using _socket = op.ws;
  // operators
  await exchange(server, check, "GET", "/v1/operators");
  await exchange(server, check, "GET", "/v1/operators/{sid}", {
    path: `/v1/operators/${op.sid}`,
    headers: { authorization: `Bearer ${op.token}` },
  });
  const bad = await exchange(server, check, "POST", "/v1/operators", {
    body: { roles: ["main-ai"] },
  });
  assert.equal(bad.status, 409);

  // runs: a run whose operator agent spawns through the seat
  const started = await exchange(server, check, "POST", "/v1/runs", {
    body: { blueprint: { kind: "inline", value: operatorAgentBlueprint() }, init_ctx: { n: 1 } },
  });
  assert.equal(started.status, 202);
  const runId = started.body.run_id as string;
  const spawn = await nextOf(op.ws, "spawn");
  const pending = await exchange(server, check, "GET", "/v1/operators/{sid}/pending", {
    path: `/v1/operators/${op.sid}/pending`,
    headers: { authorization: `Bearer ${op.token}` },
  });
  assert.equal(pending.body.pending.length, 1);
  check.assertConforms({ $ref: "#/components/schemas/SpawnFrame" }, spawn, "a spawn frame");

  // worker
  const worker = { authorization: `Bearer ${spawn.capability_token}` };
  const prompt = await exchange(server, check, "GET", "/v1/worker/prompt", {
    path: `/v1/worker/prompt?task_id=${spawn.task_id}`,
    headers: worker,
  });
  assert.equal(prompt.status, 200);
  // data
  const emitted = await exchange(server, check, "POST", "/v1/data/emit", {
    headers: worker,
    body: {
      task_id: spawn.task_id,
      attempt: 1,
      producer_agent: "impl",
      event: { type: "progress", stage: "thinking" },
    },
  });
  assert.equal(emitted.status, 200);
  const record = await exchange(server, check, "GET", "/v1/data/{name}", {
    path: `/v1/data/${emitted.body.out_id}`,
  });
  assert.equal(record.status, 200);
  const result = await exchange(server, check, "POST", "/v1/worker/result", {
    headers: worker,
    body: { task_id: spawn.task_id, value: { done: true } },
  });
  assert.equal(result.status, 204);
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  await server.deps.engine.settled(runId);
  const run = await exchange(server, check, "GET", "/v1/runs/{id}", { path: `/v1/runs/${runId}` });
  assert.equal(run.body.status, "succeeded");
  await exchange(server, check, "GET", "/v1/runs", { path: "/v1/runs?limit=5" });
  const task = await exchange(server, check, "POST", "/v1/tasks", {
    body: { blueprint: { kind: "id", id: "main" }, init_ctx: {} },
  });
  assert.equal(task.status, 200);
  const invalid = await exchange(server, check, "POST", "/v1/tasks", {
    body: { init_ctx: 1 },
    invalid: true,
  });
  assert.equal(invalid.status, 422);

  // blueprints
  const blueprint = {
    id: "doc-bp",
    agents: [{ name: "a", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: { kind: "step", ref: "a", in: "'x'", out: "$.r" },
  };
  const registered = await exchange(server, check, "POST", "/v1/blueprints/{id}", {
    path: "/v1/blueprints/doc-bp",
    body: blueprint,
  });
  assert.equal(registered.status, 201);
  await exchange(server, check, "GET", "/v1/blueprints");
  await exchange(server, check, "GET", "/v1/blueprints/{id}", { path: "/v1/blueprints/doc-bp" });
  await exchange(server, check, "GET", "/v1/blueprints/{id}/head", {
    path: "/v1/blueprints/doc-bp/head",
  });
  await exchange(server, check, "GET", "/v1/blueprints/{id}/history", {
    path: "/v1/blueprints/doc-bp/history",
  });
  const missing = await exchange(server, check, "GET", "/v1/blueprints/{id}/head", {
    path: "/v1/blueprints/nope/head",
  });
  assert.equal(missing.status, 404);

  // sessions and operability
  const attached = await exchange(server, check, "POST", "/v1/sessions", {
    body: { agent_id: "a", role: "observer", ttl_secs: 60 },
  });
  assert.equal(attached.status, 200);
  const doctor = await exchange(server, check, "GET", "/v1/doctor");
  assert.equal(doctor.status, 200);
});
