/**
 * Types of the operator client: options, handlers and the client object.
 *
 * @module
 */
import type {
  AskFrame,
  CancelFrame,
  HookAfterFrame,
  HookBeforeFrame,
  ReplyFrame,
  RequestContext as FrameContext,
  RequestFrame,
  SpawnFrame,
} from "../protocol/frames.ts";
import type { z } from "../protocol/zod.ts";
import type { ReplyFrame as ReplySchema } from "../protocol/frames.ts";
import type { Json } from "../protocol/json.ts";
import type { BackoffOptions } from "./backoff.ts";

/** Where the client is in its lifetime. `closed` is final. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** One change of {@link ConnectionState}. */
export interface StateChange {
  state: ConnectionState;
  /** Close code of the socket that ended (reconnecting, closed). */
  code?: number;
  reason?: string;
  /** Reconnect attempt number, from 1 (reconnecting). */
  attempt?: number;
  /** Wait before that attempt (reconnecting). */
  delayMs?: number;
  /** Why a first connect failed (closed). */
  error?: Error;
}

/** What a request handler gets besides its frame. */
export interface RequestContext {
  /** Aborts when the server cancels the request, or when the client closes. */
  signal: AbortSignal;
  /** Where the request comes from: run, Blueprint, agent, attempt, the step's input. */
  context?: FrameContext;
  /** An ask's JSON Schema: the answer must validate against it. */
  schema?: Record<string, Json>;
}

/**
 * `true` approves; `false` or `{ok: false, reason}` vetoes; `{ok: true, input}`
 * approves with edits (`input` replaces the step's input).
 */
export type HookBeforeReply = boolean | { ok: boolean; reason?: string | null; input?: Json };

/** What a spawn ends with: `error` fails the attempt; otherwise `value` and `ok` (default true). */
export interface SpawnReply {
  value?: Json;
  ok?: boolean;
  error?: string | null;
}

/** A handler's result, or `undefined` to reply later (with `op.reply` and friends). */
type Maybe<T> = T | undefined | Promise<T | undefined>;

/** Answers an `ask` with a JSON value (`null` is a value). Throwing leaves it pending. */
export type AskHandler = (frame: AskFrame, ctx: RequestContext) => Maybe<Json>;
/** Approves or vetoes a `hook_before`. Throwing vetoes with the error's message. */
export type HookBeforeHandler = (
  frame: HookBeforeFrame,
  ctx: RequestContext,
) => Maybe<HookBeforeReply>;
/** Sees a `hook_after` (fire and forget: no reply, no signal), with its `context`. */
export type HookAfterHandler = (
  frame: HookAfterFrame,
  ctx: Pick<RequestContext, "context">,
) => void | Promise<void>;
/** Executes a `spawn`. Throwing acks with `error` set to the error's message. */
export type SpawnHandler = (
  frame: SpawnFrame,
  ctx: RequestContext,
) => Maybe<SpawnReply>;
/** Told when the server cancels a request (its handler's signal aborts too). */
export type CancelHandler = (frame: CancelFrame) => void;

/** One handler per frame type. */
export interface Handlers {
  ask?: AskHandler;
  hook_before?: HookBeforeHandler;
  hook_after?: HookAfterHandler;
  spawn?: SpawnHandler;
  cancel?: CancelHandler;
}

/** A reply frame as sent (`spawn_ack` defaults may be left out). */
export type ReplyInput = z.input<typeof ReplySchema>;

/** Options of `connectOperator`. */
export interface ConnectOperatorOptions {
  /** Base URL of the server (`http(s)://…` or `ws(s)://…`). */
  url: string;
  sid: string;
  token: string;
  /** Handlers set before the first frame arrives (same as calling `onAsk` and friends). */
  handlers?: Handlers;
  backoff?: BackoffOptions;
  /** Reconnect attempts in a row before giving up. Default: no limit. */
  maxRetries?: number;
  /** Ping interval; a ping without pong for one interval drops the socket. 0 turns it off. Default 15 000. */
  heartbeatMs?: number;
  /** Names this client in the audit of what it settles (`?client=`). Default `switchboard-client`. */
  client?: string;
  /** Reconnect after close 4000 (another client took the seat). Default false. */
  reconnectOnReplaced?: boolean;
  /** Aborting it closes the client. */
  signal?: AbortSignal;
}

/** A reply the server has not settled yet. */
export interface UnsettledReply {
  reply: ReplyFrame;
  /** True once it went out on some socket. */
  sent: boolean;
}

/** A connected operator seat. */
export interface OperatorClient extends AsyncDisposable {
  readonly sid: string;
  readonly state: ConnectionState;
  /** Resolves when the client has stopped for good. */
  readonly closed: Promise<StateChange>;
  onAsk(handler: AskHandler): OperatorClient;
  onHookBefore(handler: HookBeforeHandler): OperatorClient;
  onHookAfter(handler: HookAfterHandler): OperatorClient;
  onSpawn(handler: SpawnHandler): OperatorClient;
  onCancel(handler: CancelHandler): OperatorClient;
  /** Listens to state changes; returns the unsubscribe. */
  onState(listener: (change: StateChange) => void): () => void;
  /** Listens to refused replies, bad server frames and handler failures. */
  onError(listener: (error: Error) => void): () => void;
  /** Requests received and not replied to yet, in the order first received. */
  pending(): RequestFrame[];
  /** Replies sent (or queued while disconnected) that the server has not settled yet. */
  unsettled(): UnsettledReply[];
  /**
   * Sends a reply. Resolves once the server has settled it (across reconnects);
   * rejects when the server refuses it, cancels the request or the client closes.
   */
  reply(frame: ReplyInput): Promise<void>;
  answer(reqId: string, value: Json): Promise<void>;
  /** Approves a `hook_before`; `input` replaces the step's input (approve with edits). */
  approve(reqId: string, edits?: { input?: Json }): Promise<void>;
  veto(reqId: string, reason?: string): Promise<void>;
  ack(reqId: string, result?: SpawnReply): Promise<void>;
  /**
   * Waits (up to 1 s) for replies in flight to settle, then stops reconnecting, closes
   * the socket (1000) and waits until it has closed. Unsettled replies are rejected.
   */
  close(): Promise<void>;
}
