/**
 * The WebSocket adapter: handshake checks and the upgrade that wires a Deno
 * socket to an operator session. The only file that calls `Deno.upgradeWebSocket`.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import { CLOSE } from "../protocol/frames.ts";
import type { Seat } from "./seat.ts";
import { type FrameBucket, frameCost } from "./frame_bucket.ts";
import { closeQuietly, guardSends } from "./socket_slot.ts";
import { type BacklogLimit, createBacklogWatch } from "./send_backlog.ts";

/** Throws 400 when `req` is not a valid WebSocket upgrade (checked before any auth). */
export function checkHandshake(req: Request): void {
  const h = req.headers;
  if (!(h.get("connection") ?? "").toLowerCase().includes("upgrade")) {
    throw new SwitchboardError("bad_request", "Connection header did not include 'upgrade'");
  }
  if ((h.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    throw new SwitchboardError("bad_request", "`Upgrade` header did not include 'websocket'");
  }
  if ((h.get("sec-websocket-version") ?? "").trim() !== "13") {
    throw new SwitchboardError(
      "bad_request",
      "`Sec-WebSocket-Version` header did not include '13'",
    );
  }
  if (!h.get("sec-websocket-key")) {
    throw new SwitchboardError("bad_request", "`Sec-WebSocket-Key` header missing");
  }
}

/** The offered subprotocols of a handshake, in order. */
export function offeredProtocols(req: Request): string[] {
  return (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim())
    .filter((p) => p !== "");
}

/**
 * The token a browser offers as subprotocols `bearer, <token>` (or, as the only
 * two, `<token>, bearer`: SPEC §4 names no order), or null.
 */
export function subprotocolBearer(req: Request): string | null {
  const offered = offeredProtocols(req);
  const at = offered.indexOf("bearer");
  if (at < 0) return null;
  if (offered[at + 1]) return offered[at + 1];
  return offered.length === 2 && at === 1 ? offered[0] : null;
}

/** Options of {@link upgradeToSession}. */
export interface UpgradeOptions {
  protocol?: string;
  client?: string;
  onClose?: () => void;
  /** Every client frame takes its tokens first, before any parsing (none: no limit). */
  frames?: FrameBucket;
  /** Called once when the socket is closed 1008 for its frame rate. */
  onFrameLimit?: () => void;
  /** What the socket may leave unread (none: no limit). */
  backlog?: BacklogLimit;
  /** Called once when the socket is closed 1008 `slow consumer` (or refused at open, see below). */
  onSlowConsumer?: (why?: "unread_sockets") => void;
}

/** The close reason of a socket over its frame rate limit (code 1008). */
export const FRAME_RATE_REASON = "frame rate limit";

/** The close reason of a socket refused because its seat's earlier sockets hold too much unread. */
export const UNREAD_SOCKETS_REASON = "earlier sockets not reading";

/** Each seat's sockets that have opened and not closed yet (a replaced one until its peer goes). */
const seatSockets = new WeakMap<Seat, Set<WebSocket>>();

/**
 * What each socket had unsent when a newer one replaced it: once closed, Deno's
 * `bufferedAmount` reads 0, yet it keeps those bytes until the peer reads or goes.
 */
const unsentAtReplace = new WeakMap<WebSocket, number>();

/**
 * Bytes `seat`'s replaced sockets still hold unsent, forgetting the closed ones.
 * An open one (the live socket, which the new one replaces) does not count: a
 * client whose connection died unseen may always reconnect once.
 */
function unsentOfSeat(seat: Seat): { sockets: Set<WebSocket>; unsent: number } {
  let sockets = seatSockets.get(seat);
  if (!sockets) seatSockets.set(seat, sockets = new Set());
  let unsent = 0;
  for (const s of sockets) {
    if (s.readyState === WebSocket.CLOSED) sockets.delete(s);
    else if (s.readyState === WebSocket.OPEN) unsentAtReplace.set(s, s.bufferedAmount);
    else unsent += unsentAtReplace.get(s) ?? 0;
  }
  return { sockets, unsent };
}

/**
 * Upgrades `req` and hands the socket to `session`. A frame that finds
 * `options.frames` empty closes the socket 1008 `frame rate limit`; it and every
 * later frame are dropped unread. A send that finds the socket's backlog over
 * `options.backlog` for too long closes it 1008 `slow consumer`. A socket that
 * opens while the seat's replaced sockets (whose peer never read) still hold
 * more than `options.backlog.maxBytes` unsent is closed 1008 at once,
 * without a replay: each reconnect replays every pending request, and Deno keeps
 * what a replaced socket was not able to send until its peer goes, so a client
 * reconnecting without reading would otherwise pile up one replay per socket.
 */
export function upgradeToSession(
  req: Request,
  session: Seat,
  options: UpgradeOptions = {},
): Response {
  const { socket, response } = Deno.upgradeWebSocket(
    req,
    options.protocol ? { protocol: options.protocol } : {},
  );
  socket.binaryType = "arraybuffer";
  if (options.backlog) {
    const watch = createBacklogWatch(options.backlog);
    guardSends(socket, {
      over: watch.over,
      onOver() {
        // its close frame waits behind the backlog, so `close` may come much later:
        // the seat lets go of it now (after the send that found it over returns)
        queueMicrotask(() => session.detach(socket, CLOSE.policyViolation));
        options.onSlowConsumer?.();
      },
    });
  }
  let limited = false;
  socket.onopen = () => {
    const { sockets, unsent } = unsentOfSeat(session);
    if (options.backlog && unsent > options.backlog.maxBytes) {
      limited = true;
      closeQuietly(socket, CLOSE.policyViolation, UNREAD_SOCKETS_REASON);
      options.onSlowConsumer?.("unread_sockets");
      return;
    }
    sockets.add(socket);
    session.attach(socket, options.client);
  };
  const frames = options.frames;
  socket.onmessage = (event) => {
    if (limited) return;
    if (frames === undefined || frames.take(frameCost(event.data))) {
      return session.receive(socket, event.data);
    }
    limited = true;
    closeQuietly(socket, CLOSE.policyViolation, FRAME_RATE_REASON);
    options.onFrameLimit?.();
  };
  socket.onclose = (event) => {
    seatSockets.get(session)?.delete(socket);
    session.detach(socket, event.code);
    options.onClose?.();
  };
  socket.onerror = () => {};
  return response;
}
