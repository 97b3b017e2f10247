import assert from "node:assert/strict";
import { isSwitchboardError } from "../../protocol/errors.ts";
import { type Issue, jsonPointer } from "../../protocol/issues.ts";
import { normalizeBlueprint, type NormalizeOptions } from "./normalize.ts";

/**
 * Asserts a 422 with exactly `message` and `issues[0]` at `pointer` (every issue's
 * `path` an array naming the same place as its `pointer`); returns all issues.
 */
function rejects(
  doc: unknown,
  message: string | RegExp,
  pointer: string,
  options?: NormalizeOptions,
) {
  let issues: Issue[] = [];
  assert.throws(() => normalizeBlueprint(doc, options), (err) => {
    assert.ok(isSwitchboardError(err, "invalid"), `expected a 422, got ${err}`);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    issues = (err.extra as { issues: Issue[] }).issues;
    assert.equal(issues[0].pointer, pointer);
    for (const issue of issues) {
      assert.ok(Array.isArray(issue.path), JSON.stringify(issue));
      assert.equal(jsonPointer(issue.path), issue.pointer);
    }
    return true;
  });
  return issues;
}

const step = (ref: string, extra: Record<string, unknown> = {}) => ({
  kind: "step",
  ref,
  in: "$.x",
  out: "$.y",
  ...extra,
});
const fn = (name: string) => ({ name, kind: "rust_fn", spec: { fn_id: name } });
const doc = (flow: unknown, more: Record<string, unknown> = {}) => ({
  id: "bad",
  flow,
  agents: [fn("a")],
  ...more,
});

Deno.test("parse errors name the first faulty position as a JSON pointer", async (t) => {
  const cases: [string, unknown, string, string | RegExp][] = [
    ["a non-object document", [], "", "blueprint parse: expected object, got array"],
    ["a missing id", { flow: step("a") }, "/id", "blueprint parse: /id: required"],
    [
      "an unknown top-level key",
      { ...doc(step("a")), nme: 1 },
      "/nme",
      "blueprint parse: /nme: unknown key",
    ],
    [
      "agents: null",
      doc(step("a"), { agents: null }),
      "/agents",
      "blueprint parse: /agents: expected array, got null",
    ],
    [
      "an unknown node kind",
      doc({ kind: "stepx", ref: "a" }),
      "/flow/kind",
      'blueprint parse: /flow/kind: unknown kind "stepx" (expected one of: step, seq, branch, fanout, loop, try, assign, ask)',
    ],
    [
      "an unknown key in a node",
      doc(step("a", { extra: 1 })),
      "/flow/extra",
      "blueprint parse: /flow/extra: unknown key",
    ],
    [
      "a tree without its op",
      doc(step("a", { in: { at: "$.x" } })),
      "/flow/in/op",
      /^blueprint parse: \/flow\/in\/op: missing tag 'op'/,
    ],
    [
      "an unknown op",
      doc(step("a", { in: { op: "nope" } })),
      "/flow/in/op",
      /^blueprint parse: \/flow\/in\/op: unknown op "nope" \(expected one of: path, lit,/,
    ],
    [
      "lit without value",
      doc(step("a", { in: { op: "lit" } })),
      "/flow/in/value",
      "blueprint parse: /flow/in/value: required",
    ],
    [
      "an expression of the wrong type",
      doc(step("a", { in: 5 })),
      "/flow/in",
      "blueprint parse: /flow/in: expected string or object, got number",
    ],
    [
      "a bad leaf deep in a tree",
      doc({
        kind: "seq",
        children: [step("a", { in: { op: "eq", lhs: "$.a", rhs: { op: "path", at: 3 } } })],
      }),
      "/flow/children/0/in/rhs/at",
      "blueprint parse: /flow/children/0/in/rhs/at: expected string, got number",
    ],
    [
      "an unknown key inside an expression tree",
      doc(step("a", { in: { op: "not", operand: "$.a", x: 1 } })),
      "/flow/in/x",
      "blueprint parse: /flow/in/x: unknown key",
    ],
    [
      "an unknown agent kind",
      doc(step("a"), { agents: [{ name: "a", kind: "foo" }] }),
      "/agents/0/kind",
      'blueprint parse: /agents/0/kind: invalid value "foo": expected one of "lua", "rust_fn", "agent_block", "subprocess", "operator"',
    ],
    [
      "an unknown fanout join",
      doc({ kind: "fanout", items: "$.i", bind: "$.b", body: step("a"), join: "some", out: "$.o" }),
      "/flow/join",
      /^blueprint parse: \/flow\/join: invalid value "some"/,
    ],
    [
      "a negative loop max",
      doc({ kind: "loop", counter: "$.n", cond: "true", body: step("a"), max: -1 }),
      "/flow/max",
      /^blueprint parse: \/flow\/max: /,
    ],
    [
      "a zero TTL",
      doc(step("a"), { metadata: { default_run_ttl_secs: 0 } }),
      "/metadata/default_run_ttl_secs",
      /^blueprint parse: \/metadata\/default_run_ttl_secs: /,
    ],
    [
      "a bad origin kind",
      doc(step("a"), { metadata: { origin: { kind: "zz" } } }),
      "/metadata/origin/kind",
      /^blueprint parse: \/metadata\/origin\/kind: unknown kind "zz"/,
    ],
    [
      "a non-JSON spec",
      doc(step("a"), { agents: [{ name: "a", kind: "rust_fn", spec: { f: undefined } }] }),
      "/agents/0/spec/f",
      "blueprint parse: /agents/0/spec/f: required",
    ],
  ];
  for (const [name, input, path, message] of cases) {
    await t.step(name, () => {
      rejects(input, message, path);
    });
  }
});

Deno.test("a document nested deeper than 128 levels is refused before parsing", () => {
  let value: unknown = 1;
  // the document, the node and the expression hold three levels; 125 arrays reach 128
  for (let i = 0; i < 125; i++) value = [value];
  normalizeBlueprint(doc({ kind: "assign", at: "$.x", value: { op: "lit", value } }));
  value = [value];
  rejects(
    doc({ kind: "assign", at: "$.x", value: { op: "lit", value } }),
    /^blueprint parse: \/flow\/value\/value(\/0)+: JSON nesting deeper than 128 levels$/,
    "/flow/value/value" + "/0".repeat(125),
  );
});

Deno.test("a document larger than 1 MiB is refused", () => {
  const big = "x".repeat(1024 * 1024);
  rejects(
    doc(step("a"), { metadata: { description: big } }),
    /^blueprint parse: document is \d+ bytes, more than the 1048576 allowed$/,
    "",
  );
});

Deno.test("a lone surrogate is refused", () => {
  rejects(
    doc(step("a"), { metadata: { description: "a\ud800" } }),
    "blueprint parse: /metadata/description: string is not well-formed Unicode (lone surrogate)",
    "/metadata/description",
  );
});

Deno.test("expression errors carry the pointer of their position", async (t) => {
  const cases: [string, unknown, string, string | RegExp][] = [
    [
      "a text syntax error",
      doc({
        kind: "seq",
        children: [step("a"), { kind: "branch", cond: "$.a ==", then: step("a"), else: step("a") }],
      }),
      "/flow/children/1/cond",
      "blueprint invalid: /flow/children/1/cond: expression syntax error at 7: unexpected end of input",
    ],
    [
      "a bad path in a tree",
      doc(step("a", { in: { op: "path", at: "$.a..b" } })),
      "/flow/in",
      /^blueprint invalid: \/flow\/in: /,
    ],
    [
      "a write target that is not a path",
      doc(step("a", { out: "$.a + 1" })),
      "/flow/out",
      /^blueprint invalid: \/flow\/out: /,
    ],
    [
      "an index in a write target",
      doc(step("a", { out: "$.a[0]" })),
      "/flow/out",
      /^blueprint invalid: \/flow\/out: /,
    ],
    [
      "a bad loop counter",
      doc({ kind: "loop", counter: "1", cond: "true", body: step("a"), max: 1 }),
      "/flow/counter",
      /^blueprint invalid: \/flow\/counter: /,
    ],
    [
      "a bad fanout bind",
      doc({ kind: "fanout", items: "$.i", bind: "'x'", body: step("a"), join: "all", out: "$.o" }),
      "/flow/bind",
      /^blueprint invalid: \/flow\/bind: /,
    ],
    [
      "a bad fanout out",
      doc({ kind: "fanout", items: "$.i", bind: "$.b", body: step("a"), join: "all", out: "[1]" }),
      "/flow/out",
      /^blueprint invalid: \/flow\/out: /,
    ],
    [
      "a bad assign target",
      doc({ kind: "assign", at: "null", value: "1" }),
      "/flow/at",
      /^blueprint invalid: \/flow\/at: /,
    ],
    [
      "a bad try err_at",
      doc({ kind: "try", body: step("a"), catch: step("a"), err_at: "$" + ".x".repeat(1) + "[1]" }),
      "/flow/err_at",
      /^blueprint invalid: \/flow\/err_at: /,
    ],
    [
      "a $foo path",
      doc(step("a", { in: "$foo" })),
      "/flow/in",
      /^blueprint invalid: \/flow\/in: expression syntax error/,
    ],
  ];
  for (const [name, input, path, message] of cases) {
    await t.step(name, () => {
      rejects(input, message, path);
    });
  }
});

Deno.test("lua and agent_block agents are refused with a clear message", () => {
  rejects(
    doc(step("a"), { agents: [{ name: "a", kind: "lua", spec: { fn_id: "x" } }] }),
    "blueprint invalid: agent kind 'lua' is not supported: Switchboard has no Lua; use rust_fn with a registered TypeScript function (agent 'a')",
    "/agents/0/kind",
  );
  rejects(
    doc(step("a"), { agents: [{ name: "a", kind: "agent_block" }] }),
    "blueprint invalid: agent kind 'agent_block' is not supported: Switchboard has no agent_block workers; use operator or rust_fn (agent 'a')",
    "/agents/0/kind",
  );
  rejects(
    doc(step("a"), { agents: [{ name: "a" }], default_agent_kind: "lua" }),
    /^blueprint invalid: agent kind 'lua' is not supported/,
    "/agents/0",
  );
  rejects(
    doc(step("a"), { agents: [{ name: "a" }] }),
    /^blueprint invalid: agent kind 'lua' is not supported/,
    "/agents/0",
    { defaultAgentKind: "lua" },
  );
});

Deno.test("static checks refuse what can never compile", async (t) => {
  const cases: [string, unknown, string, string][] = [
    [
      "a duplicate agent name",
      doc(step("a"), { agents: [fn("a"), fn("b"), fn("a")] }),
      "/agents/2/name",
      "blueprint invalid: duplicate AgentDef name: a",
    ],
    [
      "an operator_ref outside operators",
      doc(step("a"), {
        agents: [{ name: "a", kind: "operator", spec: { operator_ref: "ghost" } }],
        operators: [{ name: "main-ai" }, { name: "senior" }],
      }),
      "/agents/0/spec/operator_ref",
      "blueprint invalid: agent 'a' operator_ref 'ghost' does not match any OperatorDef.name in Blueprint.operators (defined: [main-ai, senior])",
    ],
    [
      "an operator agent without operator_ref",
      doc(step("a"), { agents: [{ name: "a", kind: "operator", spec: { x: 1 } }] }),
      "/agents/0/spec/operator_ref",
      "blueprint invalid: agent 'a' spec invalid: operator spec: 'operator_ref' (string) required",
    ],
    [
      "a rust_fn agent without fn_id",
      doc(step("a"), { agents: [{ name: "a", kind: "rust_fn" }] }),
      "/agents/0/spec",
      "blueprint invalid: agent 'a' spec invalid: rust_fn spec: 'fn_id' (string) required",
    ],
    [
      "a rust_fn agent with a numeric fn_id",
      doc(step("a"), { agents: [{ name: "a", kind: "rust_fn", spec: { fn_id: 3 } }] }),
      "/agents/0/spec/fn_id",
      "blueprint invalid: agent 'a' spec invalid: rust_fn spec: 'fn_id' (string) required",
    ],
    [
      "a subprocess agent without program",
      doc(step("a"), { agents: [{ name: "a", kind: "subprocess", spec: {} }] }),
      "/agents/0/spec/program",
      "blueprint invalid: agent 'a' spec invalid: shell spec: 'program' (string) required",
    ],
    [
      "a subprocess agent with an unknown stream_mode",
      doc(step("a"), {
        agents: [{ name: "a", kind: "subprocess", spec: { program: "x", stream_mode: "zz" } }],
      }),
      "/agents/0/spec/stream_mode",
      "blueprint invalid: agent 'a' spec invalid: unknown stream_mode: zz",
    ],
    [
      "a step ref without an agent",
      doc({
        kind: "seq",
        children: [step("a"), {
          kind: "branch",
          cond: "true",
          then: step("a"),
          else: step("nobody"),
        }],
      }),
      "/flow/children/1/else/ref",
      "blueprint invalid: flow references agent 'nobody' but no AgentDef matches",
    ],
    [
      "a version_label that is not semver",
      doc(step("a"), { metadata: { version_label: "v1.0" } }),
      "/metadata/version_label",
      "blueprint invalid: metadata.version_label 'v1.0' is not semver: unexpected character 'v' while parsing major version number",
    ],
    [
      "a schema_version that is not semver",
      doc(step("a"), { schema_version: "0.1" }),
      "/schema_version",
      "blueprint invalid: schema_version '0.1' is not semver: unexpected end of input while parsing minor version number",
    ],
  ];
  for (const [name, input, path, message] of cases) {
    await t.step(name, () => {
      rejects(input, message, path);
    });
  }
});

Deno.test("a system_prompt that does not parse as a template is refused for operator agents", () => {
  const agent = (kind: string, spec: Record<string, unknown>) => ({
    name: "a",
    kind,
    spec,
    profile: { system_prompt: "Hello {{ name" },
  });
  rejects(
    doc(step("a"), {
      agents: [agent("operator", { operator_ref: "o" })],
      operators: [{ name: "o" }],
    }),
    /^blueprint invalid: agent 'a' profile\.system_prompt: .+/,
    "/agents/0/profile/system_prompt",
  );
  // other kinds never render the prompt
  normalizeBlueprint(doc(step("a"), { agents: [agent("rust_fn", { fn_id: "a" })] }));
});

Deno.test("strict_refs false lets a step name no agent", () => {
  normalizeBlueprint(doc(step("nobody"), { strategy: { strict_refs: false } }));
});

Deno.test("every finding is listed in issues, the first one in the message", () => {
  const issues = rejects(
    doc(step("nobody", { in: "$.a ==" }), {
      agents: [fn("a"), fn("a")],
      metadata: { version_label: "x" },
    }),
    "blueprint invalid: duplicate AgentDef name: a",
    "/agents/1/name",
  );
  assert.deepEqual(issues.map((i) => i.path), [
    ["agents", 1, "name"],
    ["flow", "ref"],
    ["flow", "in"],
    ["metadata", "version_label"],
  ]);
  assert.deepEqual(issues.map((i) => i.pointer), [
    "/agents/1/name",
    "/flow/ref",
    "/flow/in",
    "/metadata/version_label",
  ]);
});
