/**
 * Every `issues` list an HTTP answer carries has one shape (protocol/issues.ts):
 * zod's `path` (keys and indexes, `[]` for the root), the same place as a JSON
 * `pointer`, and a message, for body 422s, query 400s and Blueprint 422s alike.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";
import { type Issue, jsonPointer } from "../../protocol/issues.ts";

async function appWith() {
  return createApp(await createDeps({ config: {} }));
}

type App = Awaited<ReturnType<typeof appWith>>;

function send(app: App, method: string, path: string, body?: unknown) {
  return app.request(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The answer's issues, after checking the status and that each one's path and pointer agree. */
async function issuesOf(res: Response, status: number): Promise<Issue[]> {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.ok(Array.isArray(body.issues) && body.issues.length > 0, JSON.stringify(body));
  for (const issue of body.issues as Issue[]) {
    assert.deepEqual(Object.keys(issue).sort(), ["message", "path", "pointer"]);
    assert.ok(Array.isArray(issue.path), JSON.stringify(issue));
    assert.equal(jsonPointer(issue.path), issue.pointer);
    assert.equal(typeof issue.message, "string");
  }
  return body.issues;
}

const ECHO = { name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } };

Deno.test("a body 422 names the field with zod's path: a key, then an array index", async () => {
  const app = await appWith();
  const wrongType = await issuesOf(await send(app, "POST", "/v1/operators", { roles: "a" }), 422);
  assert.deepEqual(wrongType.map((i) => [i.path, i.pointer]), [[["roles"], "/roles"]]);
  const item = await issuesOf(await send(app, "POST", "/v1/operators", { roles: ["a", 1] }), 422);
  assert.deepEqual(item.map((i) => [i.path, i.pointer]), [[["roles", 1], "/roles/1"]]);
  const whole = await issuesOf(await send(app, "POST", "/v1/operators", []), 422);
  assert.deepEqual(whole.map((i) => [i.path, i.pointer]), [[[], ""]]);
});

Deno.test("a body 422 for a value JSON cannot hold names its place; too deep a body is the root", async () => {
  const app = await appWith();
  // 1e999 parses to Infinity, which is not a JSON number
  const huge = await issuesOf(
    await send(app, "POST", "/v1/operators", '{"roles":["a"],"grace_secs":[1e999]}'),
    422,
  );
  assert.deepEqual(huge, [{
    path: ["grace_secs", 0],
    pointer: "/grace_secs/0",
    message: "numbers must be finite",
  }]);
  const deep = await issuesOf(await send(app, "POST", "/v1/operators", "[".repeat(200)), 422);
  assert.deepEqual(deep.map((i) => i.path), [[]]);
});

Deno.test("a bad query is 400 with issues in zod's path form", async () => {
  const app = await appWith();
  const issues = await issuesOf(await send(app, "GET", "/v1/runs?limit=0"), 400);
  assert.deepEqual(issues.map((i) => [i.path, i.pointer]), [[["limit"], "/limit"]]);
});

Deno.test("a Blueprint 422 gives zod's path and the pointer of every fault", async () => {
  const app = await appWith();
  const doc = {
    id: "bad",
    agents: [ECHO, ECHO],
    flow: { kind: "seq", children: [{ kind: "step", ref: "echo", in: "$.a ==", out: "$.b" }] },
  };
  const issues = await issuesOf(await send(app, "POST", "/v1/blueprints/bad", doc), 422);
  assert.deepEqual(issues.map((i) => [i.path, i.pointer]), [
    [["agents", 1, "name"], "/agents/1/name"],
    [["flow", "children", 0, "in"], "/flow/children/0/in"],
  ]);
  const shape = await issuesOf(
    await send(app, "POST", "/v1/blueprints/bad", { ...doc, flow: { kind: "seq", children: [7] } }),
    422,
  );
  assert.deepEqual(shape.map((i) => i.path), [["flow", "children", 0]]);
});

Deno.test("an inline Blueprint's issues start at the request body, in /v1/tasks and /v1/runs", async () => {
  const app = await appWith();
  const value = {
    id: "inline",
    agents: [ECHO],
    flow: { kind: "step", ref: "echo", in: "$.a ==", out: "$.b" },
  };
  for (const route of ["/v1/tasks", "/v1/runs"]) {
    const res = await send(app, "POST", route, {
      blueprint: { kind: "inline", value },
      init_ctx: {},
    });
    const issues = await issuesOf(res, 422);
    assert.deepEqual(issues.map((i) => [i.path, i.pointer]), [
      [["blueprint", "value", "flow", "in"], "/blueprint/value/flow/in"],
    ], route);
    // a fault of shape, found by the body's own check, has the same form
    const shape = await issuesOf(
      await send(app, "POST", route, {
        blueprint: { kind: "inline", value: { ...value, agents: [{ ...ECHO, kind: 3 }] } },
        init_ctx: {},
      }),
      422,
    );
    assert.ok(
      shape.some((i) => i.pointer.startsWith("/blueprint/value/agents/0")),
      JSON.stringify(shape),
    );
  }
});

Deno.test("an inline Blueprint's faults read as registration words them, at the key, beside the body's own", async () => {
  const app = await appWith();
  const value = {
    id: "inline",
    agents: [ECHO],
    flow: { kind: "step", ref: "echo", in: { op: "le2" }, out: "$.b", extra: 1 },
  };
  const registered = await issuesOf(await send(app, "POST", "/v1/blueprints/inline", value), 422);
  for (const route of ["/v1/tasks", "/v1/runs"]) {
    const issues = await issuesOf(
      await send(app, "POST", route, { blueprint: { kind: "inline", value }, ttl_secs: -1 }),
      422,
    );
    // the Blueprint's issues, as registration gives them, under /blueprint/value
    const inline = issues.filter((i) => i.pointer.startsWith("/blueprint/value"));
    assert.deepEqual(
      inline.map((i) => [i.pointer, i.message]),
      registered.map((i) => [`/blueprint/value${i.pointer}`, i.message]),
      route,
    );
    assert.ok(inline.some((i) => /unknown op "le2"/.test(i.message)), JSON.stringify(inline));
    assert.ok(inline.some((i) => i.pointer === "/blueprint/value/flow/extra"), "at the key");
    // and the body's other faults, as the schema gives them
    assert.deepEqual(
      issues.filter((i) => !i.pointer.startsWith("/blueprint")).map((i) => i.pointer).sort(),
      ["/init_ctx", "/ttl_secs"],
      route,
    );
  }
});

Deno.test("every 422 carries issues: a refused role names its place, a too-deep Blueprint the root", async () => {
  const app = await appWith();
  const prefixed = await issuesOf(
    await send(app, "POST", "/v1/operators", { roles: ["ok", "op-x"] }),
    422,
  );
  assert.deepEqual(prefixed.map((i) => [i.path, i.pointer]), [[["roles", 1], "/roles/1"]]);
  const long = await issuesOf(
    await send(app, "POST", "/v1/operators", { roles: ["r".repeat(300)] }),
    422,
  );
  assert.deepEqual(long.map((i) => i.pointer), ["/roles/0"]);
  const many = await issuesOf(
    await send(app, "POST", "/v1/operators", {
      roles: Array.from({ length: 65 }, (_, i) => `r${i}`),
    }),
    422,
  );
  assert.deepEqual(many.map((i) => i.pointer), ["/roles"]);
  const deep = await issuesOf(
    await send(app, "POST", "/v1/blueprints/deep", "[".repeat(200) + "]".repeat(200)),
    422,
  );
  assert.deepEqual(deep.map((i) => i.path), [[]]);
});
