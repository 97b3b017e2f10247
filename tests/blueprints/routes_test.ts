/**
 * The Blueprint store routes over HTTP (SPEC §6, reference/blueprint.md §4.5):
 * register (JSON and YAML), list, get (head, `?version=`), head, versions/:v,
 * history, archive and unarchive, with every documented error.
 *
 * @module
 */
import assert from "node:assert/strict";
import canonicalize from "canonicalize";
import { openDeps } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import type { Issue } from "../../protocol/issues.ts";
import { startServer, type TestServer } from "../_helpers.ts";

type Body = Record<string, unknown>;

async function call(
  server: TestServer,
  method: string,
  path: string,
  init: { body?: unknown; type?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Body | null; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.type !== undefined) headers["content-type"] = init.type;
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers,
    body: init.body === undefined
      ? undefined
      : typeof init.body === "string"
      ? init.body
      : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

const register = (server: TestServer, id: string, body: unknown, type = "application/json") =>
  call(server, "POST", `/v1/blueprints/${id}`, { body, type });
const read = (server: TestServer, path: string) => call(server, "GET", path);

/** A small valid Blueprint; `label` sets metadata.version_label. */
function doc(id: string, label?: string, echo = "'hi'") {
  return {
    id,
    flow: { kind: "step", ref: "echo", in: echo, out: "$.out" },
    agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
    ...(label === undefined ? {} : { metadata: { version_label: label } }),
  };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function assertError(res: { status: number; body: Body | null }, status: number, error: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.error, error);
}

Deno.test("POST /v1/blueprints/:id registers JSON: 201, then 200 for the head's content", async () => {
  await using server = await startServer();
  const first = await register(server, "greet", doc("greet", "1.0.0"));
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const version = first.body!.version as string;
  assert.deepEqual(first.body, { id: "greet", version, seeded: true });
  assert.match(version, /^[0-9a-f]{64}$/);

  // The version is the hex SHA-256 of the RFC 8785 JSON of the normalized document.
  const head = await read(server, "/v1/blueprints/greet/head");
  assert.equal(head.status, 200);
  assert.equal(await sha256Hex(canonicalize(head.body!.blueprint)!), version);

  const again = await register(server, "greet", doc("greet", "1.0.0"));
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, { id: "greet", version, seeded: false });

  // Omitted and explicit defaults normalize alike.
  const explicit = await register(server, "greet", {
    ...doc("greet", "1.0.0"),
    schema_version: "0.1.0",
    operators: [],
    strategy: { strict_refs: true, strict_kind: true },
    spawner_hints: { layers: [] },
  });
  assert.deepEqual(explicit.body, { id: "greet", version, seeded: false });

  const second = await register(server, "greet", doc("greet", "1.1.0"));
  assert.equal(second.status, 201);
  assert.notEqual(second.body!.version, version);
  // Content equal to an older, non-head version is appended again.
  const back = await register(server, "greet", doc("greet", "1.0.0"));
  assert.deepEqual(back.body, { id: "greet", version, seeded: true });
  const history = await read(server, "/v1/blueprints/greet/history");
  assert.deepEqual(
    (history.body!.entries as Body[]).map((e) => e.hash),
    [version, second.body!.version, version],
  );
});

Deno.test("POST /v1/blueprints/:id names unknown and repeated spawner_hints layers in warnings (§1.7)", async () => {
  await using server = await startServer();
  const layers = ["main_ai", "mainai", "senior_escalation", "main_ai"];
  const first = await register(server, "warned", { ...doc("warned"), spawner_hints: { layers } });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const warnings = first.body!.warnings as string[];
  assert.equal(warnings.length, 2, JSON.stringify(warnings));
  assert.match(warnings[0], /^spawner_hints\.layers\[1\]: unknown layer 'mainai' is ignored/);
  assert.match(warnings[1], /^spawner_hints\.layers\[3\]: layer 'main_ai' is listed again/);
  // kept as 0.1.2 keeps it: stored as sent, and the same content again is 200 with the same list
  const again = await register(server, "warned", { ...doc("warned"), spawner_hints: { layers } });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body!.warnings, warnings);
  const head = await read(server, "/v1/blueprints/warned/head");
  assert.deepEqual((head.body!.blueprint as Body).spawner_hints, { layers });
  // a document without such keys answers without the field
  const clean = await register(server, "clean", {
    ...doc("clean"),
    spawner_hints: { layers: ["main_ai"] },
  });
  assert.deepEqual(Object.keys(clean.body!), ["id", "version", "seeded"]);
});

Deno.test("POST /v1/blueprints/:id takes YAML when the content type says so", async () => {
  await using server = await startServer();
  const json = await register(server, "yam", doc("yam", "1.0.0"));
  const yaml = [
    "id: yam",
    "flow:",
    "  kind: step",
    "  ref: echo",
    `  in: "'hi'"`,
    "  out: $.out",
    "agents:",
    "  - name: echo",
    "    kind: rust_fn",
    "    spec: { fn_id: identity }",
    "metadata:",
    "  version_label: 1.0.0",
  ].join("\n");
  for (const type of ["application/yaml", "application/x-yaml", "text/yaml; charset=utf-8"]) {
    const res = await register(server, "yam", yaml, type);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { id: "yam", version: json.body!.version, seeded: false });
  }
  const fresh = await register(server, "yam2", yaml.replace("id: yam", "id: yam2"), "text/yaml");
  assert.equal(fresh.status, 201, JSON.stringify(fresh.body));

  const broken = await register(server, "yam", "id: [unclosed", "application/yaml");
  assert.equal(broken.status, 400);
  assert.match(broken.body!.error as string, /^Failed to parse the request body as YAML: /);
  const badShape = await register(server, "yam", "id: yam\nflow: 3\n", "application/yaml");
  assert.equal(badShape.status, 422);
  assert.deepEqual((badShape.body!.issues as Issue[])[0].path, ["flow"]);
  assert.equal((badShape.body!.issues as Issue[])[0].pointer, "/flow");
});

Deno.test("POST /v1/blueprints/:id refuses YAML that would hold the event loop, in ms", async () => {
  await using server = await startServer();
  const yaml = (body: string) => register(server, "bomb", body, "application/yaml");
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}: 1\n`).join("");
  const started = performance.now();
  // 20,000 keys (190 kB): the pairwise key check took 8 s (100,000 keys: 200 s)
  const big = await yaml(keys(20_000));
  assert.equal(big.status, 413, JSON.stringify(big.body).slice(0, 200));
  assert.match(big.body!.error as string, /^YAML body larger than 65536 bytes/);
  // nesting that overflowed the parser's stack after 0.3 to 1.5 s, and said so
  for (const deep of ["[".repeat(50_000), "- ".repeat(20_000) + "x", "? ".repeat(200) + "x"]) {
    const res = await yaml(deep);
    assert.equal(res.status, 422, JSON.stringify(res.body).slice(0, 200));
    assert.equal(res.body!.error, "blueprint parse: YAML nesting deeper than 128 levels");
  }
  // 5,000 keys within the cap: one pass, not 12.5 million comparisons
  const many = await yaml(keys(5_000));
  assert.equal(many.status, 422);
  assert.ok(performance.now() - started < 1_500, `${performance.now() - started} ms`);
  // duplicate keys are still refused, and 128 levels are still allowed
  const dup = await yaml("a: 1\nb: 2\na: 3\n");
  assert.equal(dup.status, 400);
  assert.match(dup.body!.error as string, /YAML: Map keys must be unique: a$/);
  const deepOk = await yaml("x: " + "[".repeat(120) + "]".repeat(120));
  assert.equal(deepOk.status, 422);
  assert.equal(deepOk.body!.code, "invalid_blueprint");
  assert.doesNotMatch(deepOk.body!.error as string, /nesting/);
});

Deno.test("POST /v1/blueprints/:id takes YAML with many pairs on one line of a flow collection", async () => {
  await using server = await startServer();
  const yaml = (body: string) => register(server, "flat", body, "application/yaml");
  const pairs = (n: number) => Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join(", ");
  // 300 pairs on one line are one level, not 300: the Blueprint is read (and judged on its shape)
  for (const flat of [`{${pairs(300)}}`, `[${pairs(300)}]`]) {
    const res = await yaml(
      "id: flat\nagents: [{name: a, kind: rust_fn, spec: {fn_id: identity}}]\n" +
        `flow: {kind: step, ref: a, in: {op: lit, value: ${flat}}, out: {op: path, at: $.r}}\n`,
    );
    assert.ok(res.status < 300, `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  // a bracket in quotes does not hide block nesting after it
  const hidden = await yaml(`x: "["\ny:\n  ${"- ".repeat(200)}z\n`);
  assert.equal(hidden.status, 422, JSON.stringify(hidden.body).slice(0, 300));
  assert.equal(hidden.body!.error, "blueprint parse: YAML nesting deeper than 128 levels");
  // nor does a flow map of pairs hide nesting in its values
  const nested = await yaml(`x: {${pairs(100)}, deep: ${"[".repeat(130)}${"]".repeat(130)}}`);
  assert.equal(nested.status, 422);
  assert.equal(nested.body!.error, "blueprint parse: YAML nesting deeper than 128 levels");
});

Deno.test("POST /v1/blueprints/:id answers 415, 400 and 413 for bodies it cannot read", async () => {
  await using server = await startServer();
  const plain = await register(server, "x", JSON.stringify(doc("x")), "text/plain");
  assert.equal(plain.status, 415);
  assert.equal(typeof plain.body!.error, "string");
  const none = await call(server, "POST", "/v1/blueprints/x", { body: JSON.stringify(doc("x")) });
  assert.equal(none.status, 415, JSON.stringify(none.body));
  const malformed = await register(server, "x", "{not json");
  assert.equal(malformed.status, 400);
  assert.match(malformed.body!.error as string, /^Failed to parse the request body as JSON: /);
  const huge = await register(server, "x", JSON.stringify({ ...doc("x"), pad: "y".repeat(3e6) }));
  assert.equal(huge.status, 413);
  assert.equal(huge.body!.error, "request body larger than 2 MiB");
});

Deno.test("POST /v1/blueprints/:id checks ids: invalid ids 400, a mismatch 400", async () => {
  await using server = await startServer();
  for (const id of ["bad%20id", "-lead", "a%2Fb", "x".repeat(129)]) {
    assertError(await register(server, id, doc("ok")), 400, "invalid blueprint id");
  }
  assertError(await register(server, "ok", doc("bad id")), 400, "invalid blueprint id");
  // An unreadable body is refused before the id is looked at (§4.5 row 1 first).
  assert.equal((await register(server, "bad%20id", "{}", "text/plain")).status, 415);
  assert.equal((await register(server, "bad%20id", "{oops")).status, 400);
  assert.match(
    (await register(server, "bad%20id", "{oops")).body!.error as string,
    /^Failed to parse the request body as JSON: /,
  );
  assertError(await register(server, "ok", doc("other")), 400, "path id=ok != body.id=other");
});

/** Bad documents: name, body, the error text, and zod's path of the first issue. */
const BAD_DOCUMENTS: [string, unknown, string, (string | number)[]][] = [
  ["not an object", [1], "blueprint parse: expected object, got array", []],
  ["missing flow", { id: "bad" }, "blueprint parse: /flow: required", ["flow"]],
  [
    "unknown top-level key",
    { ...doc("bad"), name: "x" },
    "blueprint parse: /name: unknown key",
    ["name"],
  ],
  [
    "agents null",
    { ...doc("bad"), agents: null },
    "blueprint parse: /agents: expected array, got null",
    ["agents"],
  ],
  [
    "unknown node kind",
    { ...doc("bad"), flow: { kind: "seq", children: [{ kind: "switch" }] } },
    `blueprint parse: /flow/children/0/kind: unknown kind "switch" (expected one of: step, seq, ` +
    "branch, fanout, loop, try, assign, ask)",
    ["flow", "children", 0, "kind"],
  ],
  [
    "unknown key in a node",
    { ...doc("bad"), flow: { kind: "seq", children: [], extra: 1 } },
    "blueprint parse: /flow/extra: unknown key",
    ["flow", "extra"],
  ],
  [
    "negative loop max",
    {
      ...doc("bad"),
      flow: {
        kind: "loop",
        counter: "$.n",
        cond: "true",
        max: -1,
        body: { kind: "seq", children: [] },
      },
    },
    "blueprint parse: /flow/max: Too small: expected number to be >=0",
    ["flow", "max"],
  ],
  [
    "unknown op",
    { ...doc("bad"), flow: { kind: "assign", at: "$.x", value: { op: "regex", of: "x" } } },
    `blueprint parse: /flow/value/op: unknown op "regex" (expected one of: path, lit, eq, ne, ` +
    "lt, le, gt, ge, add, sub, mul, div, not, and, or, exists, len, in, if, coalesce, concat, " +
    "array, object)",
    ["flow", "value", "op"],
  ],
  [
    "write target not a path",
    { ...doc("bad"), flow: { kind: "assign", at: "'x'", value: "1" } },
    "blueprint invalid: /flow/at: write target must be a path expression",
    ["flow", "at"],
  ],
  [
    "bad path syntax",
    { ...doc("bad"), flow: { kind: "assign", at: { op: "path", at: "$.a..b" }, value: "1" } },
    "blueprint invalid: /flow/at: invalid path syntax: $.a..b",
    ["flow", "at"],
  ],
  [
    "write target with an array index",
    { ...doc("bad"), flow: { kind: "assign", at: "$.a[0]", value: "1" } },
    "blueprint invalid: /flow/at: write target cannot use an array index: $.a[0]",
    ["flow", "at"],
  ],
  [
    "expression syntax error deep in the flow",
    {
      ...doc("bad"),
      flow: {
        kind: "seq",
        children: [{ kind: "assign", at: "$.a", value: "1" }, {
          kind: "branch",
          cond: "$.a ==",
          then: { kind: "seq", children: [] },
          else: { kind: "seq", children: [] },
        }],
      },
    },
    "blueprint invalid: /flow/children/1/cond: expression syntax error at 7: unexpected end of input",
    ["flow", "children", 1, "cond"],
  ],
  [
    "unknown agent kind",
    { ...doc("bad"), agents: [{ name: "echo", kind: "python", spec: {} }] },
    `blueprint parse: /agents/0/kind: invalid value "python": expected one of "lua", ` +
    `"rust_fn", "agent_block", "subprocess", "operator"`,
    ["agents", 0, "kind"],
  ],
  [
    "agent kind lua",
    { ...doc("bad"), agents: [{ name: "echo", kind: "lua", spec: { fn_id: "x" } }] },
    "blueprint invalid: agent kind 'lua' is not supported: Switchboard has no Lua; use rust_fn " +
    "with a registered TypeScript function (agent 'echo')",
    ["agents", 0, "kind"],
  ],
  [
    "agent kind agent_block",
    { ...doc("bad"), agents: [{ name: "echo", kind: "agent_block" }] },
    "blueprint invalid: agent kind 'agent_block' is not supported: Switchboard has no " +
    "agent_block workers; use operator or rust_fn (agent 'echo')",
    ["agents", 0, "kind"],
  ],
  [
    "duplicate agent names",
    {
      ...doc("bad"),
      agents: [
        { name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } },
        { name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } },
      ],
    },
    "blueprint invalid: duplicate AgentDef name: echo",
    ["agents", 1, "name"],
  ],
  [
    "unknown step ref",
    { ...doc("bad"), flow: { kind: "step", ref: "ghost", in: "'hi'", out: "$.out" } },
    "blueprint invalid: flow references agent 'ghost' but no AgentDef matches",
    ["flow", "ref"],
  ],
  [
    "unknown ref in an untaken branch",
    {
      ...doc("bad"),
      flow: {
        kind: "branch",
        cond: "false",
        then: { kind: "seq", children: [] },
        else: { kind: "step", ref: "ghost", in: "'hi'", out: "$.out" },
      },
    },
    "blueprint invalid: flow references agent 'ghost' but no AgentDef matches",
    ["flow", "else", "ref"],
  ],
  [
    "unresolved operator_ref",
    {
      ...doc("bad"),
      operators: [{ name: "main-ai" }],
      agents: [{ name: "echo", kind: "operator", spec: { operator_ref: "senior" } }],
    },
    "blueprint invalid: agent 'echo' operator_ref 'senior' does not match any OperatorDef.name " +
    "in Blueprint.operators (defined: [main-ai])",
    ["agents", 0, "spec", "operator_ref"],
  ],
  [
    "rust_fn without fn_id",
    { ...doc("bad"), agents: [{ name: "echo", kind: "rust_fn", spec: {} }] },
    "blueprint invalid: agent 'echo' spec invalid: rust_fn spec: 'fn_id' (string) required",
    ["agents", 0, "spec", "fn_id"],
  ],
  [
    "non-semver version_label",
    { ...doc("bad"), metadata: { version_label: "v1" } },
    "blueprint invalid: metadata.version_label 'v1' is not semver: unexpected character 'v' " +
    "while parsing major version number",
    ["metadata", "version_label"],
  ],
  [
    "zero default_run_ttl_secs",
    { ...doc("bad"), metadata: { default_run_ttl_secs: 0 } },
    "blueprint parse: /metadata/default_run_ttl_secs: Too small: expected number to be >=1",
    ["metadata", "default_run_ttl_secs"],
  ],
];

Deno.test("POST /v1/blueprints/:id answers 422 with the path of the fault", async (t) => {
  await using server = await startServer();
  for (const [name, body, error, path] of BAD_DOCUMENTS) {
    await t.step(name, async () => {
      const res = await register(server, "bad", body);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      const text = res.body!.error as string;
      assert.equal(text, error);
      const issues = res.body!.issues as Issue[];
      assert.ok(Array.isArray(issues) && issues.length > 0, JSON.stringify(res.body));
      assert.deepEqual(issues[0].path, path, JSON.stringify(issues));
      assert.equal(issues[0].pointer, path.map((k) => `/${k}`).join(""));
      assert.equal(typeof issues[0].message, "string");
    });
  }
  // Nothing was stored.
  assertError(
    await read(server, "/v1/blueprints/bad/head"),
    404,
    "read_head: head ref empty: id=bad",
  );
});

Deno.test("POST /v1/blueprints/:id lists every fault of a document in issues", async () => {
  await using server = await startServer();
  const res = await register(server, "many", {
    ...doc("many"),
    agents: [
      { name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } },
      { name: "echo", kind: "lua", spec: { fn_id: "x" } },
    ],
    flow: { kind: "step", ref: "ghost", in: "'hi'", out: "$.out" },
  });
  assert.equal(res.status, 422);
  const issues = res.body!.issues as Issue[];
  const has = (path: (string | number)[], pointer: string) =>
    assert.ok(
      issues.some((i) => JSON.stringify(i.path) === JSON.stringify(path) && i.pointer === pointer),
      JSON.stringify(issues),
    );
  has(["agents", 1, "kind"], "/agents/1/kind");
  has(["agents", 1, "name"], "/agents/1/name");
  has(["flow", "ref"], "/flow/ref");
});

Deno.test("GET /v1/blueprints lists ids with head and archive flag; 400 on a bad query", async () => {
  await using server = await startServer();
  const a = await register(server, "alpha", doc("alpha"));
  const b = await register(server, "beta", doc("beta"));
  assert.equal((await call(server, "DELETE", "/v1/blueprints/beta")).status, 204);
  const list = await read(server, "/v1/blueprints");
  assert.equal(list.status, 200);
  assert.deepEqual(list.body!.ids, ["alpha", "main"]);
  assert.equal(list.body!.count, 2);
  const entries = list.body!.blueprints as Body[];
  assert.deepEqual(entries[0], { id: "alpha", version: a.body!.version, archived: false });
  const all = await read(server, "/v1/blueprints?include_archived=true");
  assert.deepEqual(all.body!.ids, ["alpha", "beta", "main"]);
  assert.deepEqual((all.body!.blueprints as Body[])[1], {
    id: "beta",
    version: b.body!.version,
    archived: true,
  });
  const notArchived = await read(server, "/v1/blueprints?include_archived=false");
  assert.deepEqual(notArchived.body!.ids, ["alpha", "main"]);
  const bad = await read(server, "/v1/blueprints?include_archived=maybe");
  assert.equal(bad.status, 400);
  assert.match(bad.body!.error as string, /^Failed to deserialize query string: /);
});

Deno.test("GET /v1/blueprints/:id reads the head, a hex version or a semver range", async () => {
  await using server = await startServer();
  const v1 = (await register(server, "sv", doc("sv", "1.0.0"))).body!.version;
  const v12 = (await register(server, "sv", doc("sv", "1.2.0", "'b'"))).body!.version;
  const v2 = (await register(server, "sv", doc("sv", "2.0.0", "'c'"))).body!.version;

  const head = await read(server, "/v1/blueprints/sv");
  assert.equal(head.status, 200);
  assert.equal(head.body!.version, v2);
  assert.equal(head.body!.id, "sv");
  assert.equal(head.body!.archived, false);
  assert.equal((head.body!.blueprint as Body).id, "sv");
  const headRoute = await read(server, "/v1/blueprints/sv/head");
  assert.deepEqual(headRoute.body, { id: "sv", version: v2, blueprint: head.body!.blueprint });

  const cases: [string, unknown][] = [
    [String(v1), v1],
    [String(v1).toUpperCase(), v1],
    ["^1", v12],
    ["~1.0", v1],
    ["=1.2.0", v12],
    [">=1.1, <3", v2],
    ["*", v2],
  ];
  for (const [selector, expected] of cases) {
    const res = await read(server, `/v1/blueprints/sv?version=${encodeURIComponent(selector)}`);
    assert.equal(res.status, 200, `${selector}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body!.version, expected, selector);
  }
  const none = await read(server, "/v1/blueprints/sv?version=%5E3");
  assert.equal(none.status, 404, JSON.stringify(none.body));
  assert.match(none.body!.error as string, /no version matches semver req: \^3$/);
  const unknownHex = await read(server, `/v1/blueprints/sv?version=${"0".repeat(64)}`);
  assert.equal(unknownHex.status, 404);
  assert.match(unknownHex.body!.error as string, /blueprint not found: id=sv version=0{64}$/);
  const badReq = await read(server, "/v1/blueprints/sv?version=not-a-range");
  assert.equal(badReq.status, 400, JSON.stringify(badReq.body));
  assert.match(badReq.body!.error as string, /^version: /);
  const empty = await read(server, "/v1/blueprints/sv?version=");
  assert.equal(empty.status, 400);

  // The versions printed can be fed back as a `fixed` selector of /v1/tasks.
  const run = await call(server, "POST", "/v1/tasks", {
    type: "application/json",
    body: {
      blueprint: { kind: "id", id: "sv", version: { kind: "fixed", value: v12 } },
      init_ctx: {},
    },
  });
  assert.equal(run.status, 200, JSON.stringify(run.body));
  assert.equal(run.body!.bound_version, v12);
});

Deno.test("semver selection: highest match, newest on a tie, pre-releases only when asked", async () => {
  await using server = await startServer();
  await register(server, "pre", doc("pre", "1.0.0"));
  const tieOld = (await register(server, "pre", doc("pre", "1.1.0", "'old'"))).body!.version;
  const tieNew = (await register(server, "pre", doc("pre", "1.1.0", "'new'"))).body!.version;
  assert.notEqual(tieOld, tieNew);
  const beta = (await register(server, "pre", doc("pre", "1.2.0-beta.1", "'beta'"))).body!.version;
  await register(server, "pre", doc("pre", undefined, "'unlabelled'"));
  const pick = async (req: string) =>
    (await read(server, `/v1/blueprints/pre?version=${encodeURIComponent(req)}`)).body!.version;
  assert.equal(await pick("^1"), tieNew);
  assert.equal(await pick(">=1.2.0-beta.0"), beta);
  assert.equal(await pick("=1.2.0-beta.1"), beta);

  const malformed = await call(server, "POST", "/v1/tasks", {
    type: "application/json",
    body: {
      blueprint: { kind: "id", id: "pre", version: { kind: "fixed", value: "abc" } },
      init_ctx: {},
    },
  });
  assert.equal(malformed.status, 422, JSON.stringify(malformed.body));
  const bySemver = await call(server, "POST", "/v1/tasks", {
    type: "application/json",
    body: {
      blueprint: { kind: "id", id: "pre", version: { kind: "semver_req", req: "~1.1" } },
      init_ctx: {},
    },
  });
  assert.equal(bySemver.status, 200, JSON.stringify(bySemver.body));
  assert.equal(bySemver.body!.bound_version, tieNew);
  assert.deepEqual(bySemver.body!.final_ctx, {
    out: { by: "baseline-identity", agent: "echo", echoed: "new" },
  });
});

Deno.test("GET /v1/blueprints/:id/versions/:version reads one version, archived or not", async () => {
  await using server = await startServer();
  const v1 = (await register(server, "ver", doc("ver", "1.0.0"))).body!.version as string;
  await register(server, "ver", doc("ver", "1.1.0", "'b'"));
  const res = await read(server, `/v1/blueprints/ver/versions/${v1}`);
  assert.equal(res.status, 200);
  assert.equal(res.body!.version, v1);
  assert.equal(res.body!.archived, false);
  assert.equal(
    ((res.body!.blueprint as Body).metadata as Body).version_label,
    "1.0.0",
  );
  await call(server, "DELETE", "/v1/blueprints/ver");
  const archived = await read(server, `/v1/blueprints/ver/versions/${v1}`);
  assert.equal(archived.status, 200);
  assert.equal(archived.body!.archived, true);

  const missing = "f".repeat(64);
  assertError(
    await read(server, `/v1/blueprints/ver/versions/${missing}`),
    404,
    `read_version: blueprint not found: id=ver version=${missing}`,
  );
  assertError(
    await read(server, "/v1/blueprints/ver/versions/xyz"),
    404,
    "read_version: blueprint not found: id=ver version=xyz",
  );
  const unknownId = await read(server, `/v1/blueprints/nobody/versions/${v1}`);
  assert.equal(unknownId.status, 404);
});

Deno.test("GET /v1/blueprints/:id/history lists newest first, limits, 400 on a bad limit", async () => {
  await using server = await startServer();
  const versions: string[] = [];
  for (const [i, label] of ["1.0.0", "1.1.0", "1.2.0"].entries()) {
    versions.push(
      (await register(server, "hist", doc("hist", label, `'${i}'`))).body!.version as string,
    );
  }
  await register(server, "hist", doc("hist", undefined, "'plain'"));
  const all = await read(server, "/v1/blueprints/hist/history");
  assert.equal(all.status, 200);
  assert.equal(all.body!.count, 4);
  const entries = all.body!.entries as Body[];
  assert.deepEqual(entries.slice(1), [
    { hash: versions[2], version_label: "1.2.0", rationale: "seed" },
    { hash: versions[1], version_label: "1.1.0", rationale: "seed" },
    { hash: versions[0], version_label: "1.0.0", rationale: "seed" },
  ]);
  assert.equal(entries[0].version_label, null);

  // Archive markers are not entries and do not count toward the limit.
  await call(server, "DELETE", "/v1/blueprints/hist");
  await call(server, "POST", "/v1/blueprints/hist/unarchive");
  await call(server, "DELETE", "/v1/blueprints/hist");
  const two = await read(server, "/v1/blueprints/hist/history?limit=2");
  assert.equal(two.body!.count, 2);
  assert.deepEqual((two.body!.entries as Body[]).map((e) => e.hash), [
    entries[0].hash,
    versions[2],
  ]);
  const capped = await read(server, "/v1/blueprints/hist/history?limit=99999");
  assert.equal(capped.body!.count, 4);
  const zero = await read(server, "/v1/blueprints/hist/history?limit=0");
  assert.deepEqual(zero.body, { count: 0, entries: [] });

  for (let i = 0; i < 20; i++) {
    await call(server, "POST", "/v1/blueprints/hist/unarchive");
    await register(server, "hist", doc("hist", undefined, `'more ${i}'`));
  }
  const byDefault = await read(server, "/v1/blueprints/hist/history");
  assert.equal(byDefault.body!.count, 20); // the default limit

  // An id never written lists nothing (reference/blueprint.md §4.5: 200, count 0), an id no
  // store could hold is 404.
  const nobody = await read(server, "/v1/blueprints/nobody/history");
  assert.equal(nobody.status, 200);
  assert.deepEqual(nobody.body, { count: 0, entries: [] });
  const bad = await read(server, `/v1/blueprints/${"x".repeat(3000)}/history`);
  assert.equal(bad.status, 404);
  assert.equal(bad.body!.code, "blueprint_not_found");
  for (const limit of ["abc", "-1", "1.5"]) {
    const bad = await read(server, `/v1/blueprints/hist/history?limit=${limit}`);
    assert.equal(bad.status, 400, limit);
    assert.match(bad.body!.error as string, /^Failed to deserialize query string: /);
  }
});

Deno.test("DELETE and unarchive: 204, archived series refuse reads, runs and writes", async () => {
  await using server = await startServer();
  const v = (await register(server, "arc", doc("arc", "1.0.0"))).body!.version as string;
  const del = await call(server, "DELETE", "/v1/blueprints/arc");
  assert.equal(del.status, 204);
  assert.equal(del.body, null);
  assert.equal((await call(server, "DELETE", "/v1/blueprints/arc")).status, 204); // repeat: 204

  assertError(
    await read(server, "/v1/blueprints/arc/head"),
    404,
    "read_head: blueprint is archived: id=arc",
  );
  assertError(
    await read(server, "/v1/blueprints/arc"),
    404,
    "read_head: blueprint is archived: id=arc",
  );
  // a read by version resolves as a run would (archived: refused), under its own prefix;
  // GET /v1/blueprints/:id/versions/:version is the raw read that says `archived: true`
  assertError(
    await read(server, `/v1/blueprints/arc?version=${v}`),
    404,
    "read_version: blueprint is archived: id=arc",
  );
  const raw = await read(server, `/v1/blueprints/arc/versions/${v}`);
  assert.equal(raw.status, 200);
  assert.equal((raw.body as { archived: boolean }).archived, true);
  assertError(
    await register(server, "arc", doc("arc", "2.0.0")),
    409,
    "blueprint arc is archived; POST /v1/blueprints/arc/unarchive first",
  );
  // Every selector refuses an archived series.
  for (
    const version of [undefined, { kind: "fixed", value: v }, { kind: "semver_req", req: "^1" }]
  ) {
    const run = await call(server, "POST", "/v1/tasks", {
      type: "application/json",
      body: { blueprint: { kind: "id", id: "arc", ...(version ? { version } : {}) }, init_ctx: {} },
    });
    assert.equal(run.status, 400, JSON.stringify(run.body));
    assert.match(run.body!.error as string, /store: blueprint is archived: id=arc$/);
  }

  const un = await call(server, "POST", "/v1/blueprints/arc/unarchive");
  assert.equal(un.status, 204);
  assert.equal((await call(server, "POST", "/v1/blueprints/arc/unarchive")).status, 204); // not archived: 204
  const head = await read(server, "/v1/blueprints/arc/head");
  assert.equal(head.status, 200);
  assert.equal(head.body!.version, v);
  assert.equal((await register(server, "arc", doc("arc", "2.0.0"))).status, 201);
});

Deno.test("Blueprint routes answer 404 for unknown or invalid ids", async () => {
  await using server = await startServer();
  assertError(
    await read(server, "/v1/blueprints/nobody"),
    404,
    "read_head: head ref empty: id=nobody",
  );
  assertError(
    await read(server, "/v1/blueprints/nobody/head"),
    404,
    "read_head: head ref empty: id=nobody",
  );
  assert.equal((await read(server, "/v1/blueprints/bad%20id/head")).status, 404);
  assert.equal((await read(server, "/v1/blueprints/bad%20id")).status, 404);
  const del = await call(server, "DELETE", "/v1/blueprints/nobody");
  assert.equal(del.status, 404);
  assert.match(del.body!.error as string, /^archive_id: /);
  const un = await call(server, "POST", "/v1/blueprints/nobody/unarchive");
  assert.equal(un.status, 404);
  assert.match(un.body!.error as string, /^unarchive_id: /);
  const run = await call(server, "POST", "/v1/tasks", {
    type: "application/json",
    body: { blueprint: { kind: "id", id: "nobody" }, init_ctx: {} },
  });
  assert.equal(run.status, 400);
  assert.equal(run.body!.error, "bp resolve: store: head ref empty: id=nobody");
  // With ttl_secs there is no TTL pre-resolution: the 0.1.2 text is `run: …`.
  const withTtl = await call(server, "POST", "/v1/tasks", {
    type: "application/json",
    body: { blueprint: { kind: "id", id: "nobody" }, init_ctx: {}, ttl_secs: 5 },
  });
  assertError(withTtl, 400, "run: store: head ref empty: id=nobody");
});

Deno.test("a run naming an invalid Blueprint id answers 404 (reference §4.1)", async () => {
  await using server = await startServer();
  for (const path of ["/v1/tasks", "/v1/runs"]) {
    for (const id of ["../etc", "bad id", "-x", ""]) {
      const res = await call(server, "POST", path, {
        type: "application/json",
        body: { blueprint: { kind: "id", id }, init_ctx: {} },
      });
      assertError(res, 404, "bp resolve: invalid blueprint id");
      assert.equal(res.body!.code, "blueprint_id_invalid");
    }
    const withTtl = await call(server, "POST", path, {
      type: "application/json",
      body: { blueprint: { kind: "id", id: "a/b" }, init_ctx: {}, ttl_secs: 5 },
    });
    assertError(withTtl, 404, "run: invalid blueprint id");
  }
  // nothing was started
  assert.deepEqual((await read(server, "/v1/runs")).body!.runs, []);
});

Deno.test("an inline Blueprint's schema_version is strict semver too (stage P, reference §1.2)", async () => {
  await using server = await startServer();
  const inline = (schema_version: string) =>
    call(server, "POST", "/v1/tasks", {
      type: "application/json",
      body: { blueprint: { kind: "inline", value: { ...doc("v"), schema_version } }, init_ctx: {} },
    });
  for (const bad of ["v1", "1.0", "latest"]) {
    const res = await inline(bad);
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.match(
      String(res.body!.error),
      /^blueprint invalid: schema_version '.*' is not semver: /,
    );
  }
  // never compared with the engine's own version (Gap in 0.1.2)
  assert.equal((await inline("9.9.9")).status, 200);
});

Deno.test("Blueprint routes answer 405 with Allow for a wrong method", async () => {
  await using server = await startServer();
  const res = await call(server, "PUT", "/v1/blueprints/main");
  assert.equal(res.status, 405);
  assert.equal(typeof res.body!.error, "string");
  const allow = res.headers.get("allow") ?? "";
  for (const method of ["GET", "POST", "DELETE"]) assert.ok(allow.includes(method), allow);
});

Deno.test("Blueprint routes require the API token when one is set", async () => {
  await using server = await startServer({ config: { apiToken: "sekrit" } });
  const routes: [string, string][] = [
    ["GET", "/v1/blueprints"],
    ["GET", "/v1/blueprints/main"],
    ["GET", "/v1/blueprints/main/head"],
    ["GET", "/v1/blueprints/main/history"],
    ["DELETE", "/v1/blueprints/main"],
    ["POST", "/v1/blueprints/main/unarchive"],
  ];
  for (const [method, path] of routes) {
    assertError(await call(server, method, path), 401, "missing or empty Bearer token");
  }
  assertError(await register(server, "x", doc("x")), 401, "missing or empty Bearer token");
  const wrong = await call(server, "GET", "/v1/blueprints", {
    headers: { authorization: "Bearer nope" },
  });
  assert.equal(wrong.status, 401);
  const ok = await call(server, "GET", "/v1/blueprints", {
    headers: { authorization: "Bearer sekrit" },
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body!.ids, ["main"]);
});

Deno.test("a fresh server holds the seed blueprint main", async () => {
  await using server = await startServer();
  const head = await read(server, "/v1/blueprints/main/head");
  assert.equal(head.status, 200);
  const bp = head.body!.blueprint as Body;
  assert.deepEqual(bp.flow, {
    kind: "step",
    ref: "identity",
    in: { op: "lit", value: "hello" },
    out: { op: "path", at: "$.out" },
  });
  assert.deepEqual(bp.metadata, {
    description: "mse serve enhance seed",
    version_label: "0.1.0",
    origin: { kind: "inline" },
    tags: [],
  });
  const history = await read(server, "/v1/blueprints/main/history");
  assert.equal(history.body!.count, 1);
});

Deno.test("the Deno KV store keeps versions, history and the archive flag across a restart", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/switchboard.kv`;
  try {
    const boot = async () => {
      const deps = await openDeps(defaultConfig({ kvPath }));
      const server = await startServer({ deps });
      return {
        server,
        async [Symbol.asyncDispose]() {
          await server.close();
          await deps.close();
        },
      };
    };
    let v1: string;
    let v2: string;
    {
      await using first = await boot();
      v1 = (await register(first.server, "kept", doc("kept", "1.0.0"))).body!.version as string;
      v2 = (await register(first.server, "kept", doc("kept", "1.1.0", "'b'"))).body!
        .version as string;
      await register(first.server, "gone", doc("gone"));
      assert.equal((await call(first.server, "DELETE", "/v1/blueprints/gone")).status, 204);
    }
    await using second = await boot();
    const { server } = second;
    const head = await read(server, "/v1/blueprints/kept/head");
    assert.equal(head.status, 200);
    assert.equal(head.body!.version, v2);
    assert.deepEqual(
      ((await read(server, "/v1/blueprints/kept/history")).body!.entries as Body[]).map((e) =>
        e.hash
      ),
      [v2, v1],
    );
    assert.equal((await read(server, "/v1/blueprints/kept?version=~1.0")).body!.version, v1);
    assertError(
      await read(server, "/v1/blueprints/gone/head"),
      404,
      "read_head: blueprint is archived: id=gone",
    );
    assert.deepEqual((await read(server, "/v1/blueprints")).body!.ids, ["kept", "main"]);
    assert.equal((await call(server, "POST", "/v1/blueprints/gone/unarchive")).status, 204);
    assert.equal((await read(server, "/v1/blueprints/gone/head")).status, 200);
    const run = await call(server, "POST", "/v1/tasks", {
      type: "application/json",
      body: {
        blueprint: { kind: "id", id: "kept", version: { kind: "fixed", value: v1 } },
        init_ctx: {},
      },
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body!.bound_version, v1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
