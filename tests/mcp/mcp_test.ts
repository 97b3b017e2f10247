import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { askingRun, serverWithNope, spawningRun } from "../client/_fixtures.ts";
import { startServer } from "../_helpers.ts";
import { BLUEPRINT_GUIDE } from "../../mcp/_guide.ts";

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

Deno.test("the MCP server lists its tools with annotations, output schemas and its resources", async () => {
  await using server = await serverWithNope();
  await using client = await mcpClient(server.base);
  // `as`: the SDK's result types resolve to `{}` under Deno
  const tools = (await client.listTools()).tools as unknown as ToolInfo[];
  assert.deepEqual(tools.map((t) => t.name).sort(), [
    "operator_join",
    "operator_pending",
    "operator_reply",
    "run_start",
    "run_status",
    "worker_prompt",
    "worker_submit",
  ]);
  const byName = new Map(tools.map((t) => [t.name, t]));
  for (const name of ["operator_pending", "run_status", "worker_prompt"]) {
    assert.equal(byName.get(name)?.annotations?.readOnlyHint, true, name);
    assert.equal(byName.get(name)?.annotations?.destructiveHint, false, name);
  }
  for (const name of ["operator_join", "operator_reply"]) {
    assert.equal(byName.get(name)?.annotations?.readOnlyHint, false, name);
    assert.equal(byName.get(name)?.annotations?.destructiveHint, true, name);
  }
  for (const tool of tools) {
    assert.equal(tool.outputSchema?.type, "object", `${tool.name} has an output schema`);
  }
  const resources = (await client.listResources()).resources.map((r: { uri: string }) => r.uri)
    .sort();
  assert.deepEqual(resources, [
    "switchboard://docs/blueprint-guide",
    "switchboard://docs/operator-protocol",
    "switchboard://docs/tools",
  ]);
  const doc = await client.readResource({ uri: "switchboard://docs/operator-protocol" });
  const first = doc.contents[0] as { text: string; mimeType: string };
  assert.equal(first.mimeType, "text/markdown");
  assert.match(first.text, /hook_before/);
  assert.match(first.text, /`operators` list/, "operator_ref needs the name listed in operators");
  const guide = await client.readResource({ uri: "switchboard://docs/blueprint-guide" });
  const text = (guide.contents[0] as { text: string }).text;
  for (const kind of ["step", "seq", "branch", "loop", "fanout", "try", "assign", "ask"]) {
    assert.match(text, new RegExp(`\\*\\*${kind}\\*\\*`), `the guide explains ${kind}`);
  }
  const bad = await client.callTool({ name: "operator_reply", arguments: { req_id: 5 } });
  assert.equal(bad.isError, true, "inputs are validated");
});

Deno.test("every blueprint in the blueprint guide registers on a real server", async () => {
  await using server = await serverWithNope();
  const blocks = [...BLUEPRINT_GUIDE.matchAll(/```json\n([\s\S]*?)```/g)];
  assert.ok(blocks.length >= 6, `${blocks.length} examples`);
  for (const [, body] of blocks) {
    const doc = JSON.parse(body);
    const res = await fetch(`${server.base}/v1/blueprints/${doc.id}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(doc),
    });
    const answer = await res.json();
    assert.ok(res.ok, `${doc.id}: ${JSON.stringify(answer)}`);
  }
});

interface ToolInfo {
  name: string;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean };
  outputSchema?: { type: string };
}

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

Deno.test("an agent over MCP does a spawn end to end with worker_prompt and worker_submit", async () => {
  await using server = await serverWithNope();
  await using client = await mcpClient(server.base);
  await call(client, "operator_join", { roles: ["doer"] });
  const body = spawningRun("doer");
  const started = await call(client, "run_start", {
    blueprint: body.blueprint,
    init_ctx: {},
  });
  const spawn = (await call(client, "operator_pending", { wait_secs: 20 })).pending[0];
  assert.equal(spawn.type, "spawn");
  assert.match(spawn.expects, /worker_prompt/);
  const prompt = await call(client, "worker_prompt", { handle: spawn.worker_handle });
  assert.equal(prompt.prompt, "do X");
  assert.equal(prompt.task_id, spawn.task_id);
  const submitted = await call(client, "worker_submit", {
    handle: spawn.worker_handle,
    value: { did: prompt.prompt },
  });
  assert.deepEqual([submitted.posted, submitted.spawn_settled], [true, true]);
  const run = await call(client, "run_status", { run_id: started.run_id, wait_secs: 20 });
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { did: "do X" } });

  // Text works too, and a handle that has ended is refused with the server's reason.
  const again = await call(client, "run_start", { blueprint: body.blueprint, init_ctx: {} });
  const next = (await call(client, "operator_pending", { wait_secs: 20 })).pending[0];
  await call(client, "worker_submit", { handle: next.worker_handle, text: "done by hand\n" });
  const second = await call(client, "run_status", { run_id: again.run_id, wait_secs: 20 });
  assert.deepEqual(second.final_ctx, { r: "done by hand" });
  const stale = await client.callTool({
    name: "worker_prompt",
    arguments: { handle: next.worker_handle, task_id: next.task_id },
  });
  assert.equal(stale.isError, true);
});

Deno.test("the MCP server says it cannot reach Switchboard when the server is down", async () => {
  // A port that was just free: nothing listens there.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(probe.addr as Deno.NetAddr).port}`;
  probe.close();
  await using client = await mcpClient(url);
  for (
    const [name, args] of [
      ["operator_join", { roles: ["x"] }],
      ["run_start", { blueprint: "main" }],
      ["run_status", { run_id: "run-x" }],
    ] as const
  ) {
    const result = await client.callTool({ name, arguments: args });
    assert.equal(result.isError, true, name);
    const text = (result.content as Array<{ text: string }>)[0].text;
    assert.match(text, new RegExp(`^cannot reach Switchboard at ${url}`), `${name}: ${text}`);
  }
});

Deno.test("the MCP server never echoes the seat token", async () => {
  await using server = await serverWithNope();
  const minted = await server.mint(["reviewer"]);
  await using client = await mcpClient(server.base);
  const texts: string[] = [];
  const record = async (name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args });
    texts.push(JSON.stringify(result));
    return result;
  };
  const wrong = await record("operator_join", { sid: minted.sid, token: `${minted.token}x` });
  assert.equal(wrong.isError, true);
  const joined = await record("operator_join", { sid: minted.sid, token: minted.token });
  assert.equal(joined.isError, undefined);
  assert.equal((joined.structuredContent as { sid: string }).sid, minted.sid);
  // the seat's own roles, not the tool's (empty) input
  assert.deepEqual((joined.structuredContent as { roles: string[] }).roles, ["reviewer"]);
  // Rejoining the same seat needs only its sid now.
  const again = await record("operator_join", { sid: minted.sid });
  assert.deepEqual((again.structuredContent as { roles: string[] }).roles, ["reviewer"]);
  assert.equal(server.deps.sessions.get(minted.sid)?.connected, true);
  const started = await call(client, "run_start", {
    blueprint: askingRun(minted.sid).blueprint,
    init_ctx: {},
    use_my_seat: true,
  });
  const pending = await record("operator_pending", { wait_secs: 20 });
  const ask = (pending.structuredContent as { pending: Array<{ req_id: string }> }).pending[0];
  await record("operator_reply", { req_id: ask.req_id, value: "ok" });
  await record("run_status", { run_id: started.run_id, wait_secs: 20 });
  for (const text of texts) assert.ok(!text.includes(minted.token), text);
});
