/**
 * What both kinds of seat do with a client frame around settling it: refuse a
 * binary or oversized one, answer a `ping`, and turn a failure into an `error`
 * frame or a close.
 *
 * @module
 */
import { CLOSE, MAX_FRAME_BYTES, type ServerFrame } from "../protocol/frames.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { Logger } from "../observe/log.ts";
import { closeQuietly, sendOn } from "./socket_slot.ts";

const encoder = new TextEncoder();

/** UTF-8 length of `text`, counted only when it could pass the frame limit. */
function byteLength(text: string): number {
  return text.length * 3 <= MAX_FRAME_BYTES ? text.length : encoder.encode(text).length;
}

/**
 * The frame's text, or undefined when the socket was closed for it (binary:
 * 1003, over 1 MiB: 1009).
 */
export function frameText(socket: WebSocket, data: unknown): string | undefined {
  if (typeof data !== "string") {
    closeQuietly(socket, CLOSE.unsupportedData, "binary frames are not supported");
    return undefined;
  }
  if (byteLength(data) > MAX_FRAME_BYTES) {
    closeQuietly(socket, CLOSE.tooBig, "frame larger than 1 MiB");
    return undefined;
  }
  return data;
}

/** A `pong` confirms the replies before it: sent once `durable` (if any) resolves. */
export function answerPing(socket: WebSocket, durable: Promise<void> | undefined): void {
  if (durable) durable.then(() => sendOn(socket, { type: "pong" }));
  else sendOn(socket, { type: "pong" });
}

/**
 * A frame that failed: a {@link SwitchboardError} becomes an `error` frame (with
 * the req_id and issues it has); anything else is logged and closes 1011.
 */
export function frameFailed(
  socket: WebSocket,
  err: unknown,
  reqId: string | undefined,
  log: Logger,
  sid: string,
): void {
  if (err instanceof SwitchboardError) {
    const frame: ServerFrame = { type: "error", error: err.message };
    const named = err.extra?.req_id;
    const id = reqId ?? (typeof named === "string" ? named : undefined);
    if (id !== undefined) frame.req_id = id;
    const issues = err.extra?.issues;
    if (Array.isArray(issues)) frame.issues = issues;
    sendOn(socket, frame);
    return;
  }
  log.error("operator frame failed", { sid, error: String(err) });
  closeQuietly(socket, CLOSE.internalError, "internal error");
}
