/**
 * An MCP server that seats an AI agent as a Switchboard operator (SPEC §8). The
 * seat is a `client/` operator client without handlers: requests wait in
 * `pending()` until the agent replies with a tool call, or until the user answers
 * an ask's form (MCP elicitation) when the client supports it.
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ElicitRequestFormParams } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { getRun, type Json, type RunBody, startRun, waitRun, worker } from "../client/mod.ts";
import { BLUEPRINT_GUIDE } from "./_guide.ts";
import { PROTOCOL_DOC, TOOLS_DOC } from "./_docs.ts";
import { schemaIssues } from "./_ask_schema.ts";
import { failure, failureText, success } from "./_reach.ts";
import { askSchema, createSeatHolder, type Elicit } from "./_seat.ts";
// The SDK's zod-compat types resolve to `any` under Deno, so each callback names
// its input type (z.infer of these schemas) instead of relying on inference.
import {
  JoinInput,
  PendingInput,
  ReplyInput,
  RunStartInput,
  RunStatusInput,
  WorkerPromptInput,
  WorkerSubmitInput,
} from "./_inputs.ts";
import {
  JoinOutput,
  PendingOutput,
  ReplyOutput,
  RunStartOutput,
  RunStatusOutput,
  WorkerPromptOutput,
  WorkerSubmitOutput,
} from "./_outputs.ts";

/** Where the Switchboard server is. */
export interface SwitchboardMcpOptions {
  /** Base URL, for example `http://127.0.0.1:7777`. */
  url: string;
  /** `SWITCHBOARD_API_TOKEN` for the admin routes (mint, runs). */
  apiToken?: string;
}

/** The MCP server and a way to drop its seat's connection. */
export interface SwitchboardMcp {
  server: McpServer;
  /** Closes the operator connection (the seat itself stays). */
  close(): Promise<void>;
}

/** The request type a req_id names (`-ask-`, `-hb-`, `-spawn-`). */
function kindOf(reqId: string): "ask" | "hook_before" | "spawn" | undefined {
  if (reqId.includes("-ask-")) return "ask";
  if (reqId.includes("-hb-")) return "hook_before";
  if (reqId.includes("-spawn-")) return "spawn";
  return undefined;
}

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, openWorldHint: false };

/** Builds the MCP server (not yet connected to a transport). */
export function createSwitchboardMcp(options: SwitchboardMcpOptions): SwitchboardMcp {
  const { url, apiToken } = options;
  const server = new McpServer({ name: "switchboard-operator", version: "0.2.0" });
  const elicit: Elicit = async (message, schema) => {
    const result = await server.server.elicitInput({
      mode: "form",
      message,
      // `as`: isElicitable checked the subset (an object of primitive properties)
      requestedSchema: schema as ElicitRequestFormParams["requestedSchema"],
    });
    return result.action === "accept" ? result.content as Record<string, Json> : undefined;
  };
  const seat = createSeatHolder({
    url,
    apiToken,
    elicit: () => server.server.getClientCapabilities()?.elicitation ? elicit : undefined,
    log: (message) => console.error(`switchboard-mcp: ${message}`),
  });

  /** Runs a tool body: its value as structured content, any failure as a readable error. */
  const tool =
    <T>(body: (input: T) => Promise<Record<string, unknown>>) =>
    async (input: T): Promise<CallToolResult> => {
      try {
        return success(await body(input));
      } catch (err) {
        return failure(failureText(err, url, [...seat.secrets(), apiToken ?? ""]));
      }
    };

  server.registerTool(
    "operator_join",
    {
      title: "Join as an operator",
      description: "Mints an operator seat with these roles and connects to it, or joins an " +
        "existing seat when sid and token are given (or only the sid of a seat joined here " +
        "before). Replaces this agent's previous connection; the token is never returned.",
      inputSchema: JoinInput,
      outputSchema: JoinOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
    },
    tool(async ({ roles, sid, token }: z.infer<typeof JoinInput>) => {
      const joined = await seat.join(roles, sid, token);
      const elicitation = Boolean(server.server.getClientCapabilities()?.elicitation);
      return { ...joined, elicitation };
    }),
  );

  server.registerTool(
    "operator_pending",
    {
      title: "List pending requests",
      description: "Requests waiting for this seat's reply (ask, hook_before, spawn), oldest " +
        "first, each with its context and (for asks) the schema its answer must match, plus " +
        "hook_after and cancel events since the last call. With wait_secs, waits that long " +
        "for a request when none is pending.",
      inputSchema: PendingInput,
      outputSchema: PendingOutput,
      annotations: READ_ONLY,
    },
    tool(async ({ wait_secs }: z.infer<typeof PendingInput>) => {
      const { sid, op } = seat.need();
      await seat.wait(wait_secs);
      const withUser = seat.withUser();
      return {
        sid,
        state: op.state,
        pending: seat.visible(),
        events: seat.takeEvents(),
        ...(withUser.length > 0 ? { with_user: withUser } : {}),
      };
    }),
  );

  server.registerTool(
    "operator_reply",
    {
      title: "Reply to a request",
      description: "Replies to a pending request and returns once the server has settled it. " +
        "ask: value (any JSON; checked against the ask's schema first). hook_before: ok (true " +
        "approves, false vetoes) and reason. spawn: value and ok (default true), or error to " +
        "fail the attempt.",
      inputSchema: ReplyInput,
      outputSchema: ReplyOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
    },
    tool(async ({ req_id, value, ok, reason, error, input }: z.infer<typeof ReplyInput>) => {
      const { op } = seat.need();
      const frame = op.pending().find((f) => f.req_id === req_id);
      const kind = frame?.type ?? kindOf(req_id);
      if (kind === "ask") {
        if (value === undefined) throw new Error("an ask needs a value (null is allowed)");
        const schema = frame && askSchema(frame);
        const issues = schema ? schemaIssues(schema, value) : [];
        if (issues.length > 0) {
          throw new Error(
            `the value does not match the ask's schema: ${issues.join("; ")}. ` +
              "Nothing was sent; the ask is still pending.",
          );
        }
        await op.answer(req_id, value);
      } else if (kind === "hook_before") {
        if (ok === undefined) throw new Error("a hook_before needs ok: true or false");
        await (ok
          ? op.approve(req_id, input === undefined ? undefined : { input })
          : op.veto(req_id, reason));
      } else if (kind === "spawn") {
        await op.ack(req_id, { value: value ?? null, ok: ok ?? true, error });
      } else {
        throw new Error(`not a pending request of this seat: ${req_id}`);
      }
      return { req_id, settled: true, pending: op.pending().length };
    }),
  );

  server.registerTool(
    "worker_prompt",
    {
      title: "Read a spawn's prompt",
      description: "The prompt (and system text, if any) of a spawn, by its worker_handle. " +
        "This is the work the step asks for; post the result with worker_submit.",
      inputSchema: WorkerPromptInput,
      outputSchema: WorkerPromptOutput,
      annotations: { ...READ_ONLY, openWorldHint: false },
    },
    tool(async ({ handle, task_id }: z.infer<typeof WorkerPromptInput>) => {
      const spawn = seat.spawnByHandle(handle);
      const taskId = task_id ?? spawn?.task_id;
      if (!taskId) {
        throw new Error(`no pending spawn of this seat has handle ${handle}; pass its task_id`);
      }
      const payload = await worker({ url, taskId, token: handle }).prompt();
      return { handle, req_id: spawn?.req_id ?? null, ...payload };
    }),
  );

  server.registerTool(
    "worker_submit",
    {
      title: "Submit a spawn's result",
      description: "Posts the result of a spawn by its worker_handle (value as JSON, or text) " +
        "and, when this seat received the spawn, completes it (spawn_ack) so the run goes on.",
      inputSchema: WorkerSubmitInput,
      outputSchema: WorkerSubmitOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    tool(async ({ handle, value, text, ok }: z.infer<typeof WorkerSubmitInput>) => {
      if (value === undefined && text === undefined) throw new Error("give value or text");
      const spawn = seat.spawnByHandle(handle);
      if (value !== undefined && spawn) {
        // a typed value needs the capability token, which the spawn frame carries
        const w = worker({ url, taskId: spawn.task_id, token: spawn.capability_token });
        await w.result(value, { ok, attempt: spawn.attempt });
      } else if (value !== undefined) {
        throw new Error(`a JSON value needs the spawn's frame; send text for handle ${handle}`);
      } else {
        await worker({ url, taskId: spawn?.task_id ?? "", token: handle }).submit({
          text: text!,
          ok,
        });
      }
      let settled = false;
      if (spawn) {
        // The posted result wins over the ack's value; the ack lets the run go on.
        await seat.need().op.ack(spawn.req_id, { value: value ?? text ?? null, ok });
        settled = true;
      }
      return { handle, task_id: spawn?.task_id ?? "", posted: true, spawn_settled: settled };
    }),
  );

  server.registerTool(
    "run_start",
    {
      title: "Start a run",
      description: "Starts a blueprint run without waiting and returns its run_id. blueprint is " +
        'a stored id ("main"), a ref ({kind:"id",id,version?} or {kind:"inline",value}) or an ' +
        "inline blueprint document (see switchboard://docs/blueprint-guide). use_my_seat " +
        "routes the run's asks, hooks and delegated spawns to this seat.",
      inputSchema: RunStartInput,
      outputSchema: RunStartOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    tool(async (input: z.infer<typeof RunStartInput>) => {
      const bp = input.blueprint;
      const blueprint = typeof bp === "string"
        ? { kind: "id", id: bp }
        : bp.kind === "id" || bp.kind === "inline"
        ? bp
        : { kind: "inline", value: bp };
      const body: Record<string, unknown> = { blueprint, init_ctx: input.init_ctx };
      if (input.ttl_secs !== undefined) body.ttl_secs = input.ttl_secs;
      const operator: Record<string, unknown> = { ...input.operator };
      if (input.operator_sid !== undefined) body.operator_sid = input.operator_sid;
      if (input.use_my_seat) {
        const { sid } = seat.need();
        body.operator_sid = sid;
        operator.senior_bridge_id ??= sid;
        operator.spawn_hook_id ??= sid;
      }
      if (Object.keys(operator).length > 0) body.operator = operator;
      // The server validates the body (422 with issues), so it goes as given.
      return { ...await startRun({ url, apiToken, body: body as RunBody }) };
    }),
  );

  server.registerTool(
    "run_status",
    {
      title: "Read a run",
      description: "Status, steps and, once ended, final_ctx or error. With wait_secs, waits " +
        "up to that long for the run to end.",
      inputSchema: RunStatusInput,
      outputSchema: RunStatusOutput,
      annotations: READ_ONLY,
    },
    tool(async ({ run_id, wait_secs }: z.infer<typeof RunStatusInput>) => {
      if (wait_secs > 0) {
        const signal = AbortSignal.timeout(wait_secs * 1000);
        const ended = await waitRun({ url, apiToken, runId: run_id, signal }).catch((err) => {
          if (signal.aborted) return undefined;
          throw err;
        });
        if (ended) return { ...ended };
      }
      return { ...await getRun({ url, apiToken, runId: run_id }) };
    }),
  );

  const docs = [
    ["operator-protocol", "Operator protocol", PROTOCOL_DOC],
    ["tools", "How to use the Switchboard tools", TOOLS_DOC],
    ["blueprint-guide", "Writing a blueprint: flow grammar and expressions", BLUEPRINT_GUIDE],
  ] as const;
  for (const [name, title, markdown] of docs) {
    const uri = `switchboard://docs/${name}`;
    server.registerResource(name, uri, { title, mimeType: "text/markdown" }, () => ({
      contents: [{ uri, mimeType: "text/markdown", text: markdown }],
    }));
  }

  return { server, close: () => seat.close() };
}

/** The JSON type (for callers building tool inputs). */
export type { Json };
