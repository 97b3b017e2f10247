// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The operator WebSocket of one seat: `bearer` subprotocol auth, a keep-alive
 * ping, and reconnection with exponential backoff and jitter. The server replays
 * every pending request frame on each (re)connect.
 *
 * @module
 */

/** Delays before reconnect attempts 1, 2, 3, …; the last one repeats. */
export const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const PING_MS = 20000;

/** Close codes after which reconnecting would be wrong. */
const FINAL_CLOSES = {
  4000: "Taken over by another tab or client",
  4001: "This seat was deleted",
};

/**
 * @typedef {{ state: "connecting", attempt: number }
 *   | { state: "open", reconnected: boolean }
 *   | { state: "closed", attempt: number, retryAt: number, code: number }
 *   | { state: "ended", reason: string, resumable: boolean }} ConnectionState
 */

/**
 * @typedef {object} ConnectOptions
 * @property {string} sid
 * @property {string} token
 * @property {(frame: Record<string, unknown>) => void} onFrame
 * @property {(state: ConnectionState) => void} onState
 * @property {() => Promise<string | null>} [verify] asked after a failed handshake;
 *   a text means the seat cannot be used (stop retrying), null means retry
 */

/**
 * Connects and keeps connecting until `close()`.
 *
 * @param {ConnectOptions} options
 */
export function connectOperator(options) {
  /** @type {WebSocket | null} */
  let ws = null;
  let attempt = 0;
  let everOpen = false;
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let retryTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let pingTimer;

  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  // `?client=` names who answers in the run's audit
  const url = `${scheme}//${location.host}/v1/operators/${encodeURIComponent(options.sid)}/ws` +
    "?client=switchboard-console";

  function open() {
    clearTimeout(retryTimer);
    if (stopped) return;
    options.onState({ state: "connecting", attempt });
    const sock = new WebSocket(url, ["bearer", options.token]);
    let opened = false;
    ws = sock;
    sock.onopen = () => {
      if (ws !== sock) return;
      opened = true;
      attempt = 0;
      clearInterval(pingTimer);
      pingTimer = setInterval(() => send({ type: "ping" }), PING_MS);
      options.onState({ state: "open", reconnected: everOpen });
      everOpen = true;
    };
    sock.onmessage = (event) => {
      if (ws !== sock || typeof event.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame === "object" && typeof frame.type === "string") {
        options.onFrame(frame);
      }
    };
    sock.onclose = async (event) => {
      if (ws !== sock) return;
      ws = null;
      clearInterval(pingTimer);
      if (stopped) return;
      const final = FINAL_CLOSES[/** @type {4000 | 4001} */ (event.code)];
      if (final) return end(final, event.code === 4000);
      if (!opened && options.verify) {
        // The browser hides the handshake's status: ask the server what is wrong.
        const problem = await options.verify().catch(() => null);
        if (stopped) return; // closed by the page meanwhile
        if (problem) return end(problem, false);
      }
      schedule(event.code);
    };
  }

  /** @param {string} reason @param {boolean} resumable */
  function end(reason, resumable) {
    stopped = true;
    options.onState({ state: "ended", reason, resumable });
  }

  /** @param {number} code */
  function schedule(code) {
    if (stopped) return;
    const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    attempt += 1;
    options.onState({ state: "closed", attempt, retryAt: Date.now() + delay, code });
    retryTimer = setTimeout(open, delay);
  }

  /**
   * Sends one frame. False when no socket is open (the server keeps the request
   * pending and replays it after the reconnect).
   *
   * @param {Record<string, unknown>} frame
   */
  function send(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** Retries at once (after a drop) or resumes after a takeover. */
  function retryNow() {
    if (ws && ws.readyState <= WebSocket.OPEN) return;
    stopped = false;
    open();
  }

  function close() {
    stopped = true;
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    const sock = ws;
    ws = null;
    if (sock && sock.readyState <= WebSocket.OPEN) sock.close(1000, "console closed");
  }

  const onOnline = () => {
    if (!stopped && !ws) retryNow();
  };
  globalThis.addEventListener("online", onOnline);
  open();
  return {
    send,
    retryNow,
    close() {
      globalThis.removeEventListener("online", onOnline);
      close();
    },
    get isOpen() {
      return ws !== null && ws.readyState === WebSocket.OPEN;
    },
  };
}
