/**
 * The registration options of reference/blueprint.md §1.9 and §3.2 on the server
 * as `deno task start` runs it (its permissions): `$file` and `$agent_md`
 * expansion under `SWITCHBOARD_BLUEPRINT_REF_BASE`, the server's default agent
 * kind, and `SWITCHBOARD_STRICT_WIRE_0_1_2`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../../engine/crypto.ts";
import { startTask } from "../hostile/_task_start.ts";

type Body = Record<string, unknown>;

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Body };
}

const PROMPT = "Review {{ directive }} with care.";
const AGENT_MD = `---\nname: reviewer\ndescription: Reviews\ntools: read, grep\n---\n${PROMPT}`;

Deno.test("deno task start expands $file and $agent_md on registration, fills kinds, and never expands inline", async () => {
  const base = await Deno.makeTempDir({ prefix: "sb-refbase-" });
  const outside = await Deno.makeTempFile();
  try {
    await Deno.mkdir(`${base}/agents`);
    await Deno.writeTextFile(`${base}/agents/reviewer.md`, AGENT_MD);
    await Deno.writeTextFile(`${base}/directive.txt`, "the patch");
    await Deno.symlink(outside, `${base}/escape.txt`);
    await using server = await startTask(":memory:", {
      SWITCHBOARD_BLUEPRINT_REF_BASE: base,
      SWITCHBOARD_DEFAULT_AGENT_KIND: "rust_fn",
    });
    const url = await server.listening;
    const bp = {
      id: "reviewed",
      operators: [{ name: "ops" }],
      agents: [
        { $agent_md: "agents/reviewer.md", kind: "operator", spec: { operator_ref: "ops" } },
        { name: "echo", spec: { fn_id: "identity" } }, // no kind: the server's default
      ],
      flow: {
        kind: "step",
        ref: "echo",
        in: { op: "lit", value: { $file: "directive.txt" } },
        out: "$.r",
      },
    };
    assert.equal((await call(url, "POST", "/v1/blueprints/reviewed", bp)).status, 201);
    const { body: stored } = await call(url, "GET", "/v1/blueprints/reviewed");
    const doc = stored.blueprint as { agents: Body[]; flow: Body };
    assert.deepEqual(doc.agents[0].profile, {
      system_prompt: PROMPT,
      description: "Reviews",
      tools: ["read", "grep"],
      version_hash: await sha256Hex(PROMPT),
    });
    assert.equal(doc.agents[0].name, "reviewer");
    assert.equal(doc.agents[1].kind, "rust_fn");
    assert.deepEqual(doc.flow.in, { op: "lit", value: "the patch" });

    // the reviewer's role needs a seat for the run to compile (the flow runs `echo` only)
    assert.equal((await call(url, "POST", "/v1/operators", { roles: ["ops"] })).status, 200);
    const ran = await call(url, "POST", "/v1/tasks", {
      blueprint: { kind: "id", id: "reviewed" },
      init_ctx: {},
    });
    assert.equal(ran.status, 200, JSON.stringify(ran.body));
    assert.equal((ran.body.final_ctx as { r: Body }).r.echoed, "the patch");

    // an inline Blueprint is never expanded: the reference is data
    const inline = await call(url, "POST", "/v1/tasks", {
      blueprint: { kind: "inline", value: { ...bp, agents: [bp.agents[1]], operators: [] } },
      init_ctx: {},
    });
    assert.equal(inline.status, 200, JSON.stringify(inline.body));
    assert.equal(
      (inline.body.final_ctx as { r: Body }).r.echoed,
      JSON.stringify({ $file: "directive.txt" }),
    );

    const escape = await call(url, "POST", "/v1/blueprints/escape", {
      ...bp,
      id: "escape",
      flow: { ...bp.flow, in: { op: "lit", value: { $file: "escape.txt" } } },
    });
    assert.equal(escape.status, 400);
    assert.equal(
      escape.body.error,
      'ref expand: $file ref expansion at "escape.txt": resolves outside the Blueprint dir ' +
        "(a symbolic link)",
    );
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(outside);
  }
});

Deno.test("SWITCHBOARD_STRICT_WIRE_0_1_2=1 refuses extension operators and ask nodes with 422", async () => {
  await using server = await startTask(":memory:", { SWITCHBOARD_STRICT_WIRE_0_1_2: "1" });
  const url = await server.listening;
  const agents = [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }];
  const step = (input: unknown) => ({ kind: "step", ref: "echo", in: input, out: "$.r" });

  const plain = { id: "plain", agents, flow: step("$.x == 1 && len($.y) > 2") };
  assert.equal((await call(url, "POST", "/v1/blueprints/plain", plain)).status, 201);

  const ifExpr = { op: "if", cond: { op: "lit", value: true }, then: "$.a", else: "$.b" };
  const extended = {
    id: "extended",
    agents,
    flow: {
      kind: "seq",
      children: [step(ifExpr), step({ op: "concat", operands: ["'a'", "'b'"] })],
    },
  };
  const refused = await call(url, "POST", "/v1/blueprints/extended", extended);
  assert.equal(refused.status, 422);
  assert.match(
    String(refused.body.error),
    /^blueprint invalid: expression operator 'if' is not in/,
  );
  assert.deepEqual(
    (refused.body.issues as Array<{ pointer: string }>).map((i) => i.pointer),
    ["/flow/children/0/in/op", "/flow/children/1/in/op"],
  );

  const asks = {
    id: "asks",
    flow: { kind: "ask", to: "reviewer", question: "'ok?'", out: "$.answer" },
  };
  const askRefused = await call(url, "POST", "/v1/blueprints/asks", asks);
  assert.equal(askRefused.status, 422);
  assert.equal(
    askRefused.body.error,
    "blueprint invalid: flow node 'ask' is not in the 0.1.2 wire set " +
      "(SWITCHBOARD_STRICT_WIRE_0_1_2 is on)",
  );
});

Deno.test("deno task start refuses a bad SWITCHBOARD_DEFAULT_AGENT_KIND or REF_BASE", async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SWITCHBOARD_DEFAULT_AGENT_KIND: "wizard" }, /SWITCHBOARD_DEFAULT_AGENT_KIND must be one of/],
    [{ SWITCHBOARD_BLUEPRINT_REF_BASE: "/no/such/dir" }, /is not a directory: \/no\/such\/dir/],
  ];
  for (const [env, message] of cases) {
    await using server = await startTask(":memory:", env);
    assert.equal((await server.status).code, 1);
    assert.match(server.stderr(), /^switchboard: cannot start: /);
    assert.match(server.stderr(), message);
  }
});
