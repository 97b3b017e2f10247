/**
 * Asks with a schema through the MCP server: answered by the user through MCP
 * elicitation when the client supports it, and by the agent (its reply checked
 * against the schema) when it does not. Pending items carry the request context.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { startServer } from "../_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

type Elicited = { message: string; requestedSchema: Record<string, unknown> };

/** An MCP client over stdio; with `onElicit`, it declares form elicitation. */
async function mcpClient(
  url: string,
  onElicit?: (params: Elicited) => { action: string; content?: Record<string, unknown> },
): Promise<Client & AsyncDisposable> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "mcp/main.ts"],
    cwd: ROOT,
    env: { ...Deno.env.toObject(), SWITCHBOARD_URL: url, NO_COLOR: "1" },
    stderr: "inherit",
  });
  const client = new Client(
    { name: "switchboard-test", version: "0.0.0" },
    { capabilities: onElicit ? { elicitation: { form: {} } } : {} },
  );
  if (onElicit) {
    client.setRequestHandler(ElicitRequestSchema, (request: { params: unknown }) => {
      // `as`: the SDK's request types resolve loosely under Deno
      return onElicit(request.params as unknown as Elicited) as never;
    });
  }
  await client.connect(transport);
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.close() });
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as Array<{ type: string; text: string }>;
  assert.ok(!result.isError, `${name} failed: ${content[0]?.text}`);
  return JSON.parse(content[0].text);
}

const SCHEMA = {
  type: "object",
  required: ["approved"],
  properties: {
    approved: { type: "boolean", title: "Approved" },
    note: { type: "string", title: "Note" },
  },
};

function askingBlueprint() {
  return {
    id: "mcp-ask",
    agents: [{ name: "prep", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: {
      kind: "seq",
      children: [
        { kind: "step", ref: "prep", in: "$.change", out: "$.prepared" },
        {
          kind: "ask",
          to: "reviewer",
          question: "concat('Ship ', $.change, '?')",
          schema: SCHEMA,
          out: "$.decision",
        },
      ],
    },
  };
}

Deno.test("an ask with a schema goes to the user through MCP elicitation when the client supports it", async () => {
  await using server = await startServer();
  const seen: Elicited[] = [];
  await using client = await mcpClient(server.base, (params) => {
    seen.push(params);
    return { action: "accept", content: { approved: true, note: "from the form" } };
  });
  const joined = await call(client, "operator_join", { roles: ["reviewer"] });
  assert.equal(joined.elicitation, true);
  const started = await call(client, "run_start", {
    blueprint: askingBlueprint(),
    init_ctx: { change: "v2" },
  });
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx.decision, { approved: true, note: "from the form" });
  assert.equal(seen.length, 1);
  assert.equal(seen[0].message, "Ship v2?");
  assert.deepEqual(seen[0].requestedSchema, SCHEMA);
  // The audit says the MCP seat answered.
  const requests = run.requests as Array<{ by?: { sid: string; client: string } }>;
  assert.equal(requests?.[0]?.by?.sid, joined.sid);
  assert.equal(requests?.[0]?.by?.client, "switchboard-mcp");
});

Deno.test("a declined form leaves the ask to the agent", async () => {
  await using server = await startServer();
  await using client = await mcpClient(server.base, () => ({ action: "decline" }));
  await call(client, "operator_join", { roles: ["reviewer"] });
  const started = await call(client, "run_start", {
    blueprint: askingBlueprint(),
    init_ctx: { change: "v3" },
  });
  const pending = await call(client, "operator_pending", { wait_secs: 20 });
  const ask = pending.pending[0];
  assert.equal(ask?.type, "ask", JSON.stringify(pending));
  await call(client, "operator_reply", { req_id: ask.req_id, value: { approved: false } });
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.deepEqual(run.final_ctx.decision, { approved: false });
});

Deno.test("an agent already waiting when an ask goes to a form gets the ask once the form is declined", async () => {
  await using server = await startServer();
  await using client = await mcpClient(server.base, () => ({ action: "decline" }));
  await call(client, "operator_join", { roles: ["reviewer"] });
  // the wait begins before the run exists: the ask's arrival wakes it while its form is
  // open (not for the agent), and the wait returned an empty list instead of waiting on
  const waiting = call(client, "operator_pending", { wait_secs: 20 });
  const started = await call(client, "run_start", {
    blueprint: askingBlueprint(),
    init_ctx: { change: "v5" },
  });
  const pending = await waiting;
  const ask = pending.pending[0];
  assert.equal(ask?.type, "ask", JSON.stringify(pending));
  await call(client, "operator_reply", { req_id: ask.req_id, value: { approved: true } });
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.deepEqual(run.final_ctx.decision, { approved: true });
});

Deno.test("without elicitation the pending ask carries its schema and context, and a reply is checked", async () => {
  await using server = await startServer();
  await using client = await mcpClient(server.base);
  const joined = await call(client, "operator_join", { roles: ["reviewer"] });
  assert.equal(joined.elicitation, false);
  const started = await call(client, "run_start", {
    blueprint: askingBlueprint(),
    init_ctx: { change: "v4" },
  });
  const pending = await call(client, "operator_pending", { wait_secs: 20 });
  const ask = pending.pending[0];
  assert.equal(ask.type, "ask");
  assert.deepEqual(ask.schema, SCHEMA);
  assert.equal(ask.context.run_id, started.run_id);
  assert.equal(ask.context.blueprint_id, "mcp-ask");
  assert.match(ask.expects, /schema/);

  const wrong = await client.callTool({
    name: "operator_reply",
    arguments: { req_id: ask.req_id, value: { approved: "yes" } },
  });
  assert.equal(wrong.isError, true);
  const why = (wrong.content as Array<{ text: string }>)[0].text;
  assert.match(why, /does not match the ask's schema: \/approved must be boolean/);
  assert.equal((await call(client, "operator_pending")).pending.length, 1, "still pending");

  await call(client, "operator_reply", { req_id: ask.req_id, value: { approved: true } });
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx.decision, { approved: true });
});

Deno.test("a spawn's pending item carries the run, the Blueprint and the step input", async () => {
  await using server = await startServer();
  await using client = await mcpClient(server.base);
  await call(client, "operator_join", { roles: ["doer"] });
  const started = await call(client, "run_start", {
    blueprint: {
      id: "by-agent",
      operators: [{ name: "doer" }],
      agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "doer" } }],
      flow: { kind: "step", ref: "impl", in: "$.task", out: "$.r" },
    },
    init_ctx: { task: "summarise the diff" },
  });
  const spawn = (await call(client, "operator_pending", { wait_secs: 20 })).pending[0];
  assert.equal(spawn.context.run_id, started.run_id);
  assert.equal(spawn.context.blueprint_id, "by-agent");
  assert.equal(spawn.context.input, "summarise the diff");
  await call(client, "worker_submit", { handle: spawn.worker_handle, text: "done" });
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.deepEqual(run.final_ctx.r, "done");
});

Deno.test("an agent over MCP approves a hook with an edited input", async () => {
  await using server = await startServer();
  await using client = await mcpClient(server.base);
  const seat = await call(client, "operator_join", { roles: ["doer"] });
  const started = await call(client, "run_start", {
    blueprint: {
      id: "gated",
      operators: [{ name: "doer", kind: "main_ai" }],
      agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "doer" } }],
      flow: { kind: "step", ref: "impl", in: "'deploy to prod'", out: "$.r" },
      spawner_hints: { layers: ["main_ai"] },
    },
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: seat.sid },
  });
  const gate = (await call(client, "operator_pending", { wait_secs: 20 })).pending[0];
  assert.equal(gate.type, "hook_before");
  assert.equal(gate.context.input, "deploy to prod");
  await call(client, "operator_reply", {
    req_id: gate.req_id,
    ok: true,
    input: "deploy to staging",
  });
  const spawn = (await call(client, "operator_pending", { wait_secs: 20 })).pending[0];
  const prompt = await call(client, "worker_prompt", { handle: spawn.worker_handle });
  assert.equal(prompt.prompt, "deploy to staging");
  await call(client, "worker_submit", { handle: spawn.worker_handle, value: { where: "staging" } });
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.deepEqual(run.final_ctx, { r: { where: "staging" } });
});
