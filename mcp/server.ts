/**
 * An MCP server that seats an AI agent as a Switchboard operator (SPEC §8). The
 * seat is a `client/` operator client without handlers: requests wait in
 * `pending()` until the agent replies with a tool call.
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  connectOperator,
  getRun,
  type HookAfterFrame,
  type Json,
  mintSeat,
  type OperatorClient,
  type RequestFrame,
  type RunBody,
  startRun,
  waitRun,
} from "../client/mod.ts";
import type { CancelFrame } from "../protocol/frames.ts";
import { REPLY_FOR } from "../protocol/frames.ts";
import { PROTOCOL_DOC, TOOLS_DOC } from "./_docs.ts";
// The SDK's zod-compat types resolve to `any` under Deno, so each callback names
// its input type (z.infer of these schemas) instead of relying on inference.
import { JoinInput, PendingInput, ReplyInput, RunStartInput, RunStatusInput } from "./_inputs.ts";

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

interface Seat {
  sid: string;
  token: string;
  roles: string[];
  op: OperatorClient;
}

type Event = { type: "hook_after"; frame: HookAfterFrame } | {
  type: "cancel";
  frame: CancelFrame;
};

const MAX_EVENTS = 50;

const text = (value: unknown): CallToolResult => ({
  content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
});
const failure = (err: unknown): CallToolResult => ({
  isError: true,
  content: [{ type: "text", text: err instanceof Error ? err.message : String(err) }],
});

/** What each pending request expects, for the agent. */
function describe(frame: RequestFrame) {
  const expects = {
    ask: "operator_reply {req_id, value}",
    hook_before: "operator_reply {req_id, ok, reason?}",
    spawn: "operator_reply {req_id, value?, ok?} or {req_id, error}",
  }[frame.type];
  return { ...frame, reply_with: REPLY_FOR[frame.type], expects };
}

/** The request type a req_id names (`-ask-`, `-hb-`, `-spawn-`). */
function kindOf(reqId: string): RequestFrame["type"] | undefined {
  if (reqId.includes("-ask-")) return "ask";
  if (reqId.includes("-hb-")) return "hook_before";
  if (reqId.includes("-spawn-")) return "spawn";
  return undefined;
}

/** Builds the MCP server (not yet connected to a transport). */
export function createSwitchboardMcp(options: SwitchboardMcpOptions): SwitchboardMcp {
  const { url, apiToken } = options;
  const server = new McpServer({ name: "switchboard-operator", version: "0.1.0" });
  let seat: Seat | undefined;
  let events: Event[] = [];
  let arrived = Promise.withResolvers<void>();

  const remember = (event: Event) => {
    events.push(event);
    if (events.length > MAX_EVENTS) events = events.slice(-MAX_EVENTS);
  };
  const needSeat = (): Seat => {
    if (!seat) throw new Error("no seat yet: call operator_join first");
    return seat;
  };

  server.registerTool("operator_join", {
    title: "Join as an operator",
    description: "Mints an operator seat with these roles and connects to it, or joins an " +
      "existing seat when sid and token are given. Replaces this agent's previous connection.",
    inputSchema: JoinInput,
  }, async ({ roles, sid, token }: z.infer<typeof JoinInput>) => {
    try {
      if ((sid === undefined) !== (token === undefined)) {
        throw new Error("give both sid and token to join a seat, or neither to mint one");
      }
      const minted = sid && token
        ? { sid, token, roles }
        : await mintSeat({ url, apiToken, roles });
      await seat?.op.close();
      seat = undefined;
      events = [];
      const op = await connectOperator({
        url,
        sid: minted.sid,
        token: minted.token,
        handlers: {
          ask: () => {
            arrived.resolve();
            return undefined;
          },
          hook_before: () => {
            arrived.resolve();
            return undefined;
          },
          spawn: () => {
            arrived.resolve();
            return undefined;
          },
          hook_after: (frame) => remember({ type: "hook_after", frame }),
          cancel: (frame) => remember({ type: "cancel", frame }),
        },
      });
      op.onError((err) => console.error(`switchboard-mcp: ${err.message}`));
      seat = { ...minted, op };
      return text({ sid: minted.sid, token: minted.token, roles: minted.roles, state: op.state });
    } catch (err) {
      return failure(err);
    }
  });

  server.registerTool("operator_pending", {
    title: "List pending requests",
    description: "Requests waiting for this seat's reply (ask, hook_before, spawn), oldest " +
      "first, plus hook_after and cancel events since the last call. With wait_secs, waits " +
      "that long for a request when none is pending.",
    inputSchema: PendingInput,
  }, async ({ wait_secs }: z.infer<typeof PendingInput>) => {
    try {
      const { sid, op } = needSeat();
      if (op.pending().length === 0 && wait_secs > 0) {
        arrived = Promise.withResolvers<void>();
        const timer = Promise.withResolvers<void>();
        const t = setTimeout(timer.resolve, wait_secs * 1000);
        await Promise.race([arrived.promise, timer.promise, op.closed]);
        clearTimeout(t);
      }
      const seen = events;
      events = [];
      return text({ sid, state: op.state, pending: op.pending().map(describe), events: seen });
    } catch (err) {
      return failure(err);
    }
  });

  server.registerTool("operator_reply", {
    title: "Reply to a request",
    description: "Replies to a pending request and returns once the server has settled it. " +
      "ask: value (any JSON). hook_before: ok (true approves, false vetoes) and reason. " +
      "spawn: value and ok (default true), or error to fail the attempt.",
    inputSchema: ReplyInput,
  }, async ({ req_id, value, ok, reason, error }: z.infer<typeof ReplyInput>) => {
    try {
      const { op } = needSeat();
      const frame = op.pending().find((f) => f.req_id === req_id);
      const kind = frame?.type ?? kindOf(req_id);
      if (kind === "ask") {
        if (value === undefined) throw new Error("an ask needs a value (null is allowed)");
        await op.answer(req_id, value);
      } else if (kind === "hook_before") {
        if (ok === undefined) throw new Error("a hook_before needs ok: true or false");
        await (ok ? op.approve(req_id) : op.veto(req_id, reason));
      } else if (kind === "spawn") {
        await op.ack(req_id, { value: value ?? null, ok: ok ?? true, error });
      } else {
        throw new Error(`not a pending request of this seat: ${req_id}`);
      }
      return text({ req_id, settled: true, pending: op.pending().length });
    } catch (err) {
      return failure(err);
    }
  });

  server.registerTool("run_start", {
    title: "Start a run",
    description: "Starts a blueprint run without waiting and returns its run_id. blueprint is " +
      'a stored id ("main"), a ref ({kind:"id",id,version?} or {kind:"inline",value}) or an ' +
      "inline blueprint document. use_my_seat routes the run's asks, hooks and delegated " +
      "spawns to this seat.",
    inputSchema: RunStartInput,
  }, async (input: z.infer<typeof RunStartInput>) => {
    try {
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
        const { sid } = needSeat();
        body.operator_sid = sid;
        operator.senior_bridge_id ??= sid;
        operator.spawn_hook_id ??= sid;
      }
      if (Object.keys(operator).length > 0) body.operator = operator;
      // The server validates the body (422 with issues), so it goes as given.
      return text(await startRun({ url, apiToken, body: body as RunBody }));
    } catch (err) {
      return failure(err);
    }
  });

  server.registerTool("run_status", {
    title: "Read a run",
    description: "Status, steps and, once ended, final_ctx or error. With wait_secs, waits " +
      "up to that long for the run to end.",
    inputSchema: RunStatusInput,
  }, async ({ run_id, wait_secs }: z.infer<typeof RunStatusInput>) => {
    try {
      if (wait_secs > 0) {
        const signal = AbortSignal.timeout(wait_secs * 1000);
        const ended = await waitRun({ url, apiToken, runId: run_id, signal }).catch((err) => {
          if (signal.aborted) return undefined;
          throw err;
        });
        if (ended) return text(ended);
      }
      return text(await getRun({ url, apiToken, runId: run_id }));
    } catch (err) {
      return failure(err);
    }
  });

  const docs = [
    ["operator-protocol", "Operator protocol", PROTOCOL_DOC],
    ["tools", "How to use the Switchboard tools", TOOLS_DOC],
  ] as const;
  for (const [name, title, markdown] of docs) {
    const uri = `switchboard://docs/${name}`;
    server.registerResource(name, uri, { title, mimeType: "text/markdown" }, () => ({
      contents: [{ uri, mimeType: "text/markdown", text: markdown }],
    }));
  }

  return {
    server,
    async close() {
      await seat?.op.close();
      seat = undefined;
    },
  };
}

/** The JSON type (for callers building tool inputs). */
export type { Json };
