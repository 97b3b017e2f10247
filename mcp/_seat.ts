/**
 * The one operator seat an MCP server holds: joining (tokens stay here, never in
 * a tool result), the pending requests, the hook_after/cancel events, and asks
 * sent to the user through MCP elicitation when the client supports it.
 *
 * @module
 */
import {
  connectOperator,
  type HookAfterFrame,
  type Json,
  mintSeat,
  type OperatorClient,
  type RequestFrame,
  seatInfo,
} from "../client/mod.ts";
import type { CancelFrame } from "../protocol/frames.ts";
import { REPLY_FOR } from "../protocol/frames.ts";
import { isElicitable, schemaIssues } from "./_ask_schema.ts";

type Event = { type: "hook_after"; frame: HookAfterFrame } | {
  type: "cancel";
  frame: CancelFrame;
};

const MAX_EVENTS = 50;

/** Sends one ask to the user as a form; resolves with the accepted content or undefined. */
export type Elicit = (
  message: string,
  schema: Record<string, unknown>,
) => Promise<Record<string, Json> | undefined>;

/** What a seat needs. */
export interface SeatOptions {
  url: string;
  apiToken?: string;
  /** Present when the connected client supports form elicitation. */
  elicit?: () => Elicit | undefined;
  log(message: string): void;
}

/** The `schema` of an ask frame, if it carries one (the protocol adds it to `ask`). */
export function askSchema(frame: RequestFrame): Record<string, unknown> | undefined {
  const schema = (frame as { schema?: unknown }).schema;
  return schema && typeof schema === "object" ? schema as Record<string, unknown> : undefined;
}

/** The text of an ask's question, for a form's message. */
function questionText(frame: RequestFrame): string {
  const q = (frame as { question?: unknown }).question;
  return typeof q === "string" ? q : JSON.stringify(q);
}

/** Creates the seat holder. */
export function createSeatHolder(options: SeatOptions) {
  const { url, apiToken } = options;
  /** Tokens of the seats joined or minted here, by sid: never shown to the agent. */
  const tokens = new Map<string, string>();
  let seat: { sid: string; roles: string[]; op: OperatorClient } | undefined;
  let events: Event[] = [];
  let arrived = Promise.withResolvers<void>();
  /** req_id → "open" while a form is shown to the user, "declined" after. */
  const forms = new Map<string, "open" | "declined">();

  const remember = (event: Event) => {
    events.push(event);
    if (events.length > MAX_EVENTS) events = events.slice(-MAX_EVENTS);
  };

  /** Shows an ask with an elicitable schema to the user, and answers it with the form. */
  async function offerForm(op: OperatorClient, frame: RequestFrame) {
    const schema = askSchema(frame);
    const elicit = options.elicit?.();
    if (!elicit || !schema || !isElicitable(schema) || forms.has(frame.req_id)) return false;
    forms.set(frame.req_id, "open");
    try {
      const content = await elicit(questionText(frame), schema);
      if (content === undefined) {
        forms.set(frame.req_id, "declined");
        arrived.resolve(); // the agent may answer it now
        return true;
      }
      const issues = schemaIssues(schema, content);
      if (issues.length > 0) throw new Error(`the form's answer is invalid: ${issues.join("; ")}`);
      await op.answer(frame.req_id, content);
      forms.delete(frame.req_id);
    } catch (err) {
      forms.set(frame.req_id, "declined");
      options.log(`elicitation for ${frame.req_id} failed: ${(err as Error).message}`);
      arrived.resolve();
    }
    return true;
  }

  return {
    /** Mints (roles) or joins (sid + token, or a sid joined here before) a seat. */
    async join(roles: string[], sid?: string, token?: string) {
      const known = sid !== undefined && token === undefined ? tokens.get(sid) : undefined;
      if (sid !== undefined && token === undefined && known === undefined) {
        throw new Error(
          "joining a seat needs its token, unless this MCP server joined or minted it before",
        );
      }
      if (sid === undefined && token !== undefined) throw new Error("a token needs its sid");
      const minted = sid !== undefined
        ? { sid, token: token ?? known!, roles }
        : await mintSeat({ url, apiToken, roles });
      await seat?.op.close();
      seat = undefined;
      events = [];
      forms.clear();
      const ping = () => {
        arrived.resolve();
        return undefined;
      };
      // the ask handler may run before connectOperator returns (a replay)
      const ref: { op?: OperatorClient } = {};
      const op = ref.op = await connectOperator({
        url,
        sid: minted.sid,
        token: minted.token,
        client: "switchboard-mcp",
        handlers: {
          ask: (frame) => {
            if (ref.op) void offerForm(ref.op, frame);
            return ping();
          },
          hook_before: ping,
          spawn: ping,
          hook_after: (frame) => remember({ type: "hook_after", frame }),
          cancel: (frame) => {
            forms.delete(frame.req_id);
            remember({ type: "cancel", frame });
          },
        },
      });
      op.onError((err) => options.log(err.message));
      tokens.set(minted.sid, minted.token);
      if (sid !== undefined) {
        // a joined seat's roles are the server's, not the tool's input
        minted.roles = (await seatInfo({ url, sid: minted.sid, token: minted.token })).roles;
      }
      seat = { sid: minted.sid, roles: minted.roles, op };
      // asks replayed before `op` was assigned
      for (const frame of op.pending()) if (frame.type === "ask") void offerForm(op, frame);
      return { sid: minted.sid, roles: minted.roles, state: op.state };
    },

    /** The seat, or an error telling the agent to join. */
    need() {
      if (!seat) throw new Error("no seat yet: call operator_join first");
      return seat;
    },

    /** Every token this holder knows, to keep them out of any text it returns. */
    secrets(): string[] {
      return [...tokens.values()];
    },

    /**
     * Waits up to `secs` until a request is visible. An ask that goes to the
     * user as a form wakes the wait without being visible: it goes on waiting
     * (for the form to be declined, or another request).
     */
    async wait(secs: number) {
      const { op } = this.need();
      const shown = () => op.pending().some((f) => forms.get(f.req_id) !== "open");
      if (shown() || secs <= 0) return;
      let over = false;
      const timer = Promise.withResolvers<void>();
      const t = setTimeout(timer.resolve, secs * 1000);
      const end = Promise.race([timer.promise, op.closed]).then(() => over = true);
      try {
        while (!over && !shown()) {
          arrived = Promise.withResolvers<void>();
          await Promise.race([arrived.promise, end]);
        }
      } finally {
        clearTimeout(t);
      }
    },

    /** Pending requests, with what each expects; asks shown as a form to the user are marked. */
    visible() {
      const { op } = this.need();
      return op.pending().filter((f) => forms.get(f.req_id) !== "open").map(describe);
    },

    /** The pending spawn this seat received with worker handle `handle`, if any. */
    spawnByHandle(handle: string) {
      const found = seat?.op.pending().find((f) =>
        f.type === "spawn" && f.worker_handle === handle
      );
      return found?.type === "spawn" ? found : undefined;
    },

    /** Requests whose form is open with the user right now. */
    withUser(): string[] {
      return [...forms].filter(([, s]) => s === "open").map(([id]) => id);
    },

    /** hook_after and cancel events since the last call. */
    takeEvents() {
      const seen = events;
      events = [];
      return seen;
    },

    async close() {
      await seat?.op.close();
      seat = undefined;
    },
  };
}

/** What each pending request expects, for the agent. */
function describe(frame: RequestFrame) {
  const expects = {
    ask: askSchema(frame)
      ? "operator_reply {req_id, value} where value matches `schema`"
      : "operator_reply {req_id, value}",
    hook_before: "operator_reply {req_id, ok, reason?} (ok=true with input approves with edits)",
    spawn: "worker_prompt {handle} then worker_submit {handle, value | text}; " +
      "or operator_reply {req_id, value?, ok?} or {req_id, error}",
  }[frame.type];
  return { ...frame, reply_with: REPLY_FOR[frame.type], expects };
}

/** The seat holder's type. */
export type SeatHolder = ReturnType<typeof createSeatHolder>;
