/**
 * Every error body carries a stable machine-readable `code` beside the kept
 * 0.1.2 `error` text (SPEC §10), specific enough to act on.
 */
import assert from "node:assert/strict";
import { ERROR_CODE_RULES, errorCodeOf } from "../../protocol/error_codes.ts";
import { ErrorBody } from "../../protocol/operators.ts";
import { rawHttp, startServer } from "../_helpers.ts";

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  error?: RegExp;
}

const JSON_TYPE = { "content-type": "application/json" };
const byId = (id: string) => ({ blueprint: { kind: "id", id }, init_ctx: {} });

Deno.test("error bodies carry a specific code beside the 0.1.2 text", async (t) => {
  await using server = await startServer({ config: {} });
  const held = await server.mint(["held-role"]);
  const cases: Case[] = [
    {
      name: "an unknown Blueprint on /v1/tasks",
      method: "POST",
      path: "/v1/tasks",
      body: byId("nope"),
      status: 400,
      code: "blueprint_not_found",
      error: /^bp resolve: store: head ref empty: id=nope$/,
    },
    {
      name: "an unknown Blueprint on /v1/runs",
      method: "POST",
      path: "/v1/runs",
      body: byId("nope"),
      status: 400,
      code: "blueprint_not_found",
    },
    ...["", "/head"].map((tail) => ({
      name: `an unknown Blueprint on GET /v1/blueprints/:id${tail}`,
      method: "GET",
      path: `/v1/blueprints/nope${tail}`,
      status: 404,
      code: "blueprint_not_found",
    })),
    {
      // an id never written lists no history (200); one no store could hold is 404
      name: "an id no store could hold on GET /v1/blueprints/:id/history",
      method: "GET",
      path: `/v1/blueprints/${"x".repeat(3000)}/history`,
      status: 404,
      code: "blueprint_not_found",
    },
    {
      name: "an unknown version of a known Blueprint",
      method: "GET",
      path: "/v1/blueprints/main/versions/abc",
      status: 404,
      code: "blueprint_version_not_found",
    },
    {
      name: "a held role",
      method: "POST",
      path: "/v1/operators",
      body: { roles: ["held-role"] },
      status: 409,
      code: "roles_conflict",
    },
    {
      name: "an unknown seat",
      method: "GET",
      path: "/v1/operators/op-nope",
      headers: { authorization: "Bearer x" },
      status: 404,
      code: "seat_not_found",
    },
    {
      name: "a wrong seat token",
      method: "GET",
      path: `/v1/operators/${held.sid}`,
      headers: { authorization: "Bearer wrong" },
      status: 401,
      code: "token_mismatch",
    },
    {
      name: "no seat token",
      method: "GET",
      path: `/v1/operators/${held.sid}`,
      status: 401,
      code: "missing_credentials",
    },
    {
      name: "an unknown operator_sid",
      method: "POST",
      path: "/v1/tasks",
      body: { ...byId("main"), operator_sid: "op-none" },
      status: 400,
      code: "seat_not_found",
    },
    {
      name: "malformed JSON",
      method: "POST",
      path: "/v1/tasks",
      body: "{nope",
      status: 400,
      code: "malformed_json",
    },
    {
      name: "JSON of the wrong shape",
      method: "POST",
      path: "/v1/tasks",
      body: { blueprint: 3 },
      status: 422,
      code: "invalid_body",
    },
    {
      name: "an invalid Blueprint document",
      method: "POST",
      path: "/v1/blueprints/bad",
      body: { id: "bad", agents: [], flow: { kind: "nope" } },
      status: 422,
      code: "invalid_blueprint",
    },
    {
      name: "an unknown run",
      method: "GET",
      path: "/v1/runs/run-nope",
      status: 404,
      code: "run_not_found",
    },
    {
      name: "an unknown path",
      method: "GET",
      path: "/v1/nope",
      status: 404,
      code: "route_not_found",
    },
    {
      name: "a wrong method",
      method: "PUT",
      path: "/v1/runs",
      status: 405,
      code: "method_not_allowed",
    },
    {
      name: "not JSON",
      method: "POST",
      path: "/v1/operators",
      body: "x",
      headers: { "content-type": "text/plain" },
      status: 415,
      code: "unsupported_media_type",
    },
    {
      name: "a bad worker scheme",
      method: "POST",
      path: "/v1/worker/submit",
      headers: { authorization: "Token x" },
      body: "x",
      status: 400,
      code: "bad_auth_scheme",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const body = c.body === undefined
        ? undefined
        : typeof c.body === "string"
        ? c.body
        : JSON.stringify(c.body);
      const res = await fetch(`${server.base}${c.path}`, {
        method: c.method,
        headers: { ...(body === undefined ? {} : JSON_TYPE), ...c.headers },
        body,
      });
      const json = await res.json();
      assert.equal(res.status, c.status, JSON.stringify(json));
      assert.equal(json.code, c.code, JSON.stringify(json));
      assert.equal(typeof json.error, "string");
      if (c.error) assert.match(json.error, c.error);
      assert.ok(ErrorBody.safeParse(json).success, "the body fits the documented ErrorBody");
    });
  }
});

Deno.test("an internal error has code internal and a generic text", () => {
  assert.equal(errorCodeOf({ code: "internal", message: "run: boom" }), "internal");
  assert.equal(errorCodeOf({ code: "not_found", message: "something new" }), "not_found");
});

Deno.test("the specific codes are unique snake_case names, each with a description", () => {
  const codes = ERROR_CODE_RULES.map(([code]) => code);
  assert.equal(new Set(codes).size, codes.length);
  for (const [code, description] of ERROR_CODE_RULES) {
    assert.match(code, /^[a-z]+(_[a-z]+)*$/);
    assert.ok(description.length > 10, code);
  }
});

Deno.test("a Host the server does not answer to gets code host_not_allowed", async () => {
  await using server = await startServer();
  const res = await rawHttp(
    server.port,
    "GET /v1/healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
  );
  assert.equal(res.status, 403);
  const body = JSON.parse(res.body);
  assert.equal(body.code, "host_not_allowed");
  assert.match(body.error, /^host not allowed: /);
});
