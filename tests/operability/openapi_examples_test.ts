/**
 * The examples of the OpenAPI document are real: every request example fits
 * its schema and works when sent to a fresh server, and every error example
 * fits `ErrorBody`.
 */
import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";
import type { OpenApiDocument } from "../../routes/_openapi.ts";
import { startServer } from "../_helpers.ts";
import { openApiChecker } from "./_openapi_check.ts";

type JsonObject = Record<string, unknown>;

async function documentOf(): Promise<OpenApiDocument> {
  const app = createApp(await createDeps({ config: { publicUrl: "https://sb.example:8443" } }));
  return await (await app.request("/v1/openapi.json")).json();
}

function operations(doc: OpenApiDocument) {
  const out: Array<{ method: string; path: string; op: JsonObject }> = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, JsonObject>)) {
    for (const [method, op] of Object.entries(item)) {
      out.push({ method: method.toUpperCase(), path, op: op as JsonObject });
    }
  }
  return out;
}

const examplesOf = (media: JsonObject | undefined) =>
  Object.entries((media?.examples ?? {}) as Record<string, { value: unknown }>);

Deno.test("the OpenAPI document names its server, and marks open routes security: []", async () => {
  const doc = await documentOf();
  assert.deepEqual(doc.servers?.map((s) => s.url), ["https://sb.example:8443"]);
  const open = new Set<string>();
  for (const { method, path, op } of operations(doc)) {
    assert.ok(Array.isArray(op.security), `${method} ${path} states its security`);
    if ((op.security as unknown[]).length === 0) open.add(`${method} ${path}`);
  }
  assert.deepEqual([...open].sort(), [
    "GET /console",
    "GET /console/{file}",
    "GET /docs",
    "GET /docs/assets/{file}",
    "GET /v1/asyncapi.json",
    "GET /v1/healthz",
    "GET /v1/openapi.json",
  ]);
});

Deno.test("every request and error example of the OpenAPI document fits its schema", async () => {
  const doc = await documentOf();
  const check = openApiChecker(doc);
  let requests = 0;
  let errors = 0;
  for (const { method, path, op } of operations(doc)) {
    const body = (op.requestBody as { content?: Record<string, JsonObject> } | undefined)?.content;
    for (const [name, { value }] of examplesOf(body?.["application/json"])) {
      const schema = check.operation(method, path).request!;
      check.assertConforms(schema, value, `${method} ${path} example ${name}`);
      requests++;
    }
    for (const [status, response] of Object.entries(op.responses as Record<string, JsonObject>)) {
      const media = (response.content as Record<string, JsonObject> | undefined)?.[
        "application/json"
      ];
      for (const [name, { value }] of examplesOf(media)) {
        assert.ok(Number(status) >= 400);
        check.assertConforms(
          { $ref: "#/components/schemas/ErrorBody" },
          value,
          `${method} ${path} ${status} example ${name}`,
        );
        errors++;
      }
    }
  }
  assert.ok(requests >= 9, `${requests} request examples`);
  assert.ok(errors >= 50, `${errors} error examples`);
});

Deno.test("the request examples work against a fresh server", async () => {
  const doc = await documentOf();
  await using server = await startServer();
  const body = (method: string, path: string) => {
    const op = (doc.paths as Record<string, Record<string, JsonObject>>)[path][method];
    const content = (op.requestBody as { content: Record<string, JsonObject> }).content;
    return Object.fromEntries(
      examplesOf(content["application/json"]).map(([name, { value }]) => [name, value]),
    );
  };
  const send = async (path: string, value: unknown) => {
    const res = await fetch(`${server.base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(value),
    });
    return { status: res.status, body: await res.json() };
  };
  for (const [name, value] of Object.entries(body("post", "/v1/tasks"))) {
    const res = await send("/v1/tasks", value);
    assert.equal(res.status, 200, `tasks example ${name}: ${JSON.stringify(res.body)}`);
  }
  for (const [name, value] of Object.entries(body("post", "/v1/runs"))) {
    assert.equal((await send("/v1/runs", value)).status, 202, `runs example ${name}`);
  }
  const greet = body("post", "/v1/blueprints/{id}").greet as { id: string };
  const registered = await send(`/v1/blueprints/${greet.id}`, greet);
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  for (const [name, value] of Object.entries(body("post", "/v1/operators"))) {
    assert.equal((await send("/v1/operators", value)).status, 200, `operators example ${name}`);
  }
  const attached = await send("/v1/sessions", body("post", "/v1/sessions").observer);
  assert.equal(attached.status, 200);
  await server.deps.engine.allSettled();
});

Deno.test("the Swagger placeholder of a run body is a working Blueprint, not kind lua", async () => {
  const doc = await documentOf();
  const text = JSON.stringify((doc.paths as JsonObject)["/v1/runs"]);
  assert.match(text, /"fn_id":"identity"/);
});
