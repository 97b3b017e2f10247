/**
 * A seat's socket slot: at most one live socket, replaced by a newer one
 * (closed 4000 `replaced`), and detached only by the socket it holds, so
 * closing an old socket never detaches a newer one.
 *
 * @module
 */
import { CLOSE, type ServerFrame } from "../protocol/frames.ts";

/** Sends a frame if the socket is open; false when it could not. */
export function sendOn(socket: WebSocket, frame: ServerFrame): boolean {
  if (socket.readyState !== WebSocket.OPEN) return false;
  return sendTextOn(socket, JSON.stringify(frame));
}

/** What each send on a socket is checked against (see {@link guardSends}). */
export interface SendGuard {
  /** True when the socket's backlog (`bufferedAmount`) has grown too big for too long. */
  over(buffered: number): boolean;
  /** Called once when the socket is closed for it. */
  onOver(): void;
}

/** The close reason of a socket that does not read what it is sent (code 1008). */
export const SLOW_CONSUMER_REASON = "slow consumer";

const guards = new WeakMap<WebSocket, SendGuard>();

/**
 * Checks every later send on `socket` against `guard`: when it says the backlog
 * is over, that send is dropped and the socket is closed 1008 `slow consumer`.
 */
export function guardSends(socket: WebSocket, guard: SendGuard): void {
  guards.set(socket, guard);
}

/** Sends a frame already written as JSON text if the socket is open; false when it could not. */
export function sendTextOn(socket: WebSocket, text: string): boolean {
  if (socket.readyState !== WebSocket.OPEN) return false;
  const guard = guards.get(socket);
  if (guard !== undefined && guard.over(socket.bufferedAmount)) {
    guards.delete(socket);
    closeQuietly(socket, CLOSE.policyViolation, SLOW_CONSUMER_REASON);
    guard.onOver();
    return false;
  }
  try {
    socket.send(text);
    return true;
  } catch {
    return false;
  }
}

/** Closes a socket that is open or connecting; never throws. */
export function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
      socket.close(code, reason);
    }
  } catch {
    // already closing
  }
}

/** The live socket of one seat. */
export class SocketSlot {
  #socket: WebSocket | null = null;

  /** True while a socket is live. */
  get connected(): boolean {
    return this.#socket !== null;
  }

  /** True while `socket` is the live one. */
  holds(socket: WebSocket): boolean {
    return this.#socket === socket;
  }

  /** Makes `socket` the live one and closes an older one; true when one was replaced. */
  attach(socket: WebSocket): boolean {
    const old = this.#socket;
    this.#socket = socket;
    if (old && old !== socket) closeQuietly(old, CLOSE.replaced, "replaced");
    return old !== null;
  }

  /** Empties the slot if `socket` is still the live one; true when it was. */
  detach(socket: WebSocket): boolean {
    if (this.#socket !== socket) return false;
    this.#socket = null;
    return true;
  }

  /** Sends on the live socket; false when there is none or it is not open. */
  send(frame: ServerFrame): boolean {
    return this.#socket !== null && sendOn(this.#socket, frame);
  }

  /** Sends a frame written as JSON text on the live socket (as {@link send}). */
  sendText(text: string): boolean {
    return this.#socket !== null && sendTextOn(this.#socket, text);
  }

  /** Closes and empties the slot. */
  close(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) closeQuietly(socket, code, reason);
  }
}
