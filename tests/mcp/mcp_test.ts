import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { askingRun, serverWithNope, spawningRun } from "../client/_fixtures.ts";
import { startServer } from "../_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Spawns `deno run -A mcp/main.ts` against `url` and connects an SDK client over stdio. */
async function mcpClient(
  url: string,
  env: Record<string, string> = {},
): Promise<Client & AsyncDisposable> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "mcp/main.ts"],
    cwd: ROOT,
    env: { ...Deno.env.toObject(), SWITCHBOARD_URL: url, NO_COLOR: "1", ...env },
    stderr: "inherit",
  });
  const client = new Client({ name: "switchboard-test", version: "0.0.0" });
  await client.connect(transport);
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.close() });
}

/** Calls a tool and parses its JSON text; fails the test on a tool error. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as Array<{ type: string; text: string }>;
  assert.ok(!result.isError, `${name} failed: ${content[0]?.text}`);
  return JSON.parse(content[0].text);
}

Deno.test("the MCP server lists its tools and protocol resources", async () => {
  await using server = await serverWithNope();
  await using client = await mcpClient(server.base);
  const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name).sort();
  assert.deepEqual(tools, [
    "operator_join",
    "operator_pending",
    "operator_reply",
    "run_start",
    "run_status",
  ]);
  const resources = (await client.listResources()).resources.map((r: { uri: string }) => r.uri)
    .sort();
  assert.deepEqual(resources, [
    "switchboard://docs/operator-protocol",
    "switchboard://docs/tools",
  ]);
  const doc = await client.readResource({ uri: "switchboard://docs/operator-protocol" });
  const first = doc.contents[0] as { text: string; mimeType: string };
  assert.equal(first.mimeType, "text/markdown");
  assert.match(first.text, /hook_before/);
  const bad = await client.callTool({ name: "operator_reply", arguments: { req_id: 5 } });
  assert.equal(bad.isError, true, "inputs are validated");
});

Deno.test("an agent over MCP joins, answers a run's ask and sees it in final_ctx", async () => {
  await using server = await serverWithNope();
  await using client = await mcpClient(server.base);
  const seat = await call(client, "operator_join", { roles: ["reviewer"] });
  assert.match(seat.sid, /^op-/);
  assert.equal(server.deps.sessions.get(seat.sid)?.connected, true);

  const { blueprint, init_ctx } = askingRun(seat.sid);
  const started = await call(client, "run_start", {
    blueprint: (blueprint as { value: unknown }).value, // a bare document is taken inline
    init_ctx,
    ttl_secs: 60,
    use_my_seat: true,
  });
  const pending = await call(client, "operator_pending", { wait_secs: 20 });
  assert.equal(pending.pending.length, 1);
  const ask = pending.pending[0];
  assert.equal(ask.type, "ask");
  assert.equal(ask.reply_with, "answer");
  assert.deepEqual(ask.question, { reason: "worker reported ok=false", value: "NO" });

  const replied = await call(client, "operator_reply", {
    req_id: ask.req_id,
    value: { verdict: "ship it" },
  });
  assert.equal(replied.settled, true);
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, {
    r: { original: "NO", senior_answer: { verdict: "ship it" } },
  });
  const again = await client.callTool({
    name: "operator_reply",
    arguments: { req_id: ask.req_id, value: 1 },
  });
  assert.equal(again.isError, true, "a second reply is refused");
});

Deno.test("an agent over MCP approves a hook_before, acks the spawn and sees hook_after", async () => {
  await using server = await serverWithNope();
  await using client = await mcpClient(server.base);
  const seat = await call(client, "operator_join", { roles: ["doer"] });
  const body = spawningRun("doer", seat.sid);
  const started = await call(client, "run_start", {
    blueprint: body.blueprint,
    init_ctx: {},
    operator: body.operator,
  });
  const gate = (await call(client, "operator_pending", { wait_secs: 20 })).pending[0];
  assert.equal(gate.type, "hook_before");
  await call(client, "operator_reply", { req_id: gate.req_id, ok: true });
  const spawn = (await call(client, "operator_pending", { wait_secs: 20 })).pending[0];
  assert.equal(spawn.type, "spawn");
  assert.match(spawn.directive, /worker endpoint/);
  await call(client, "operator_reply", { req_id: spawn.req_id, value: { done: true } });
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { done: true } });
  const after = await call(client, "operator_pending");
  assert.deepEqual(after.events.map((e: { type: string }) => e.type), ["hook_after"]);
});

Deno.test("the MCP server sends SWITCHBOARD_API_TOKEN to the admin routes", async () => {
  await using server = await startServer({ config: { apiToken: "admin-secret" } });
  await using without = await mcpClient(server.base, { SWITCHBOARD_API_TOKEN: "" });
  const refused = await without.callTool({ name: "operator_join", arguments: { roles: [] } });
  assert.equal(refused.isError, true);
  assert.match((refused.content as Array<{ text: string }>)[0].text, /Bearer/);
  await using client = await mcpClient(server.base, { SWITCHBOARD_API_TOKEN: "admin-secret" });
  const seat = await call(client, "operator_join", { roles: ["x"] });
  const run = await call(client, "run_start", { blueprint: "main", init_ctx: {} });
  const view = await call(client, "run_status", { run_id: run.run_id, wait_secs: 10 });
  assert.equal(view.status, "succeeded");
  assert.match(seat.sid, /^op-/);
});
