/**
 * The Switchboard client for Deno and browsers: an operator seat over WebSocket
 * ({@link connectOperator}), the worker helper ({@link worker}) and typed
 * REST helpers. Web APIs only; the wire shapes come from `protocol/`.
 *
 * @example A ten-line operator
 * ```ts ignore
 * import { connectOperator, mintSeat } from "./mod.ts";
 * const url = "http://127.0.0.1:7777";
 * // release_on_close: the seat and its role are freed once this script is gone
 * const { sid, token } = await mintSeat({ url, roles: ["reviewer"], release_on_close: true });
 * const op = await connectOperator({ url, sid, token });
 * // `context` says which run, Blueprint and step asks; `schema` types the answer
 * op.onAsk((f, { context, schema }) => ({ approved: true, run: context?.run_id, schema }))
 *   .onHookBefore((f) => f.agent !== "rm-rf")
 *   .onSpawn(async (f) => ({ value: await doTheWork(f.directive) }))
 *   .onCancel((f) => console.log("cancelled", f.req_id, f.reason));
 * op.onState((s) => console.log("socket", s.state));
 * ```
 *
 * @module
 */
export {
  CLIENT_NAME,
  CLOSE_HEARTBEAT_TIMEOUT,
  connectOperator,
  replyTypeFor,
} from "./connect_operator.ts";
export type * from "./operator_types.ts";
export { backoffDelay, type BackoffOptions } from "./backoff.ts";
export {
  isWorkerHandle,
  worker,
  type WorkerAskOptions,
  type WorkerClient,
  workerFromSpawn,
  type WorkerOptions,
  type WorkerResultOptions,
  type WorkerSubmit,
} from "./worker.ts";
export {
  cancelRun,
  deleteSeat,
  getRun,
  httpError,
  type HttpOptions,
  inbox,
  mintSeat,
  type MintSeatOptions,
  type RunAccepted,
  type RunBody,
  type RunEvent,
  runEvents,
  type RunInfo,
  runTask,
  seatInfo,
  seatPending,
  startRun,
  waitRun,
} from "./http.ts";
export type {
  AskFrame,
  CancelFrame,
  HookAfterFrame,
  HookBeforeFrame,
  ReplyFrame,
  RequestContext as FrameContext,
  RequestFrame,
  ServerFrame,
  SpawnFrame,
} from "../protocol/frames.ts";
export {
  createRestClient,
  type PathParams,
  type RestAnswer,
  type RestArgs,
  type RestClient,
  type RestRoutes,
} from "./rest.ts";
export {
  type AgentDef,
  type Blueprint,
  type BlueprintRef,
  defineBlueprint,
  type Expr,
  type FlowNode,
  type FlowNodeKind,
  type FlowNodeOf,
  type Metadata,
  type OperatorDef,
  type VersionSelector,
} from "./blueprint.ts";
export type { ErrorBodyCode } from "../protocol/error_codes.ts";
export type { Json } from "../protocol/json.ts";
export type { Issue, IssueKey } from "../protocol/issues.ts";
export { isSwitchboardError, SwitchboardError } from "../protocol/errors.ts";
