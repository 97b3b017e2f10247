// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The console's entry point: the seat (mint, join, leave), the connection
 * indicator, and the wiring between the socket, the request board and the runs.
 *
 * @module
 */
import { ApiError, apiToken, call, setApiToken, storedSeat, storeSeat } from "./api.js";
import { announce, byId, fieldError } from "./dom.js";
import { createBoard } from "./requests.js";
import { createRunsPanel } from "./runs.js";
import { connectOperator } from "./socket.js";
import { createStartForm } from "./start_form.js";

/** @typedef {import("./api.js").Seat} Seat */

const conn = byId("conn");
const connText = byId("conn-text");
const retryButton = /** @type {HTMLButtonElement} */ (byId("conn-retry"));

/** @type {Seat | null} */
let seat = null;
/** @type {ReturnType<typeof connectOperator> | null} */
let link = null;
/** @type {ReturnType<typeof setInterval> | undefined} */
let countdown;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let settle;
let dropped = false;

const runs = createRunsPanel();
/** @type {ReturnType<typeof setTimeout> | undefined} */
let runsSoon;
const board = createBoard({
  send: (frame) => link?.send(frame) ?? false,
  // A new request means a run is waiting on us: show it in the list soon.
  onNew() {
    clearTimeout(runsSoon);
    runsSoon = setTimeout(runs.refresh, 300);
  },
});
const startForm = createStartForm({
  seatSid: () => seat?.sid ?? null,
  started(runId) {
    announce(`Run ${runId} started.`);
    runs.refresh();
    runs.select(runId);
  },
});

/**
 * @param {string} state idle | connecting | open | closed | ended
 * @param {string} text
 * @param {{ retry?: string }} [options] shows the retry button with this label
 */
function indicate(state, text, options = {}) {
  conn.dataset.state = state;
  const offline = byId("req-offline");
  offline.hidden = state === "open" || state === "idle";
  offline.textContent = state === "ended"
    ? "This tab no longer holds the seat, so replies cannot be sent from here."
    : "Offline: replies can be sent once the connection is back. Nothing waiting is lost.";
  connText.textContent = text;
  retryButton.hidden = options.retry === undefined;
  if (options.retry) retryButton.textContent = options.retry;
}

/** @param {import("./socket.js").ConnectionState} s */
function onState(s) {
  clearInterval(countdown);
  clearTimeout(settle);
  if (s.state === "connecting") {
    indicate("connecting", dropped ? `Reconnecting (attempt ${s.attempt})…` : "Connecting…");
  } else if (s.state === "open") {
    indicate("open", s.reconnected ? "Connected again" : "Connected");
    if (s.reconnected) settle = setTimeout(() => indicate("open", "Connected"), 5000);
    if (dropped) announce("Connection restored. Pending requests are shown again.");
    dropped = false;
    board.connected();
    syncPending();
  } else if (s.state === "closed") {
    if (!dropped) announce("Connection lost. Reconnecting automatically.");
    dropped = true;
    const tick = () => {
      const secs = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
      indicate("closed", `Disconnected, retrying in ${secs} s`, { retry: "Retry now" });
    };
    tick();
    countdown = setInterval(tick, 500);
  } else if (s.resumable) {
    dropped = true;
    indicate("ended", `${s.reason}.`, { retry: "Take the seat back" });
    announce(`${s.reason}.`);
  } else {
    // The seat is gone for good: back to the seat forms, saying why.
    leaveSeat();
    const text = `${s.reason}. Mint a new seat or join another.`;
    fieldError(byId("join-error"), text);
    announce(text);
  }
}

/** Reconciles the board with the seat's pending list after a (re)connect. */
async function syncPending() {
  if (!seat) return;
  const current = seat;
  try {
    const { pending } = /** @type {{ pending: Array<Record<string, unknown>> }} */ (
      await call("GET", `/v1/operators/${encodeURIComponent(current.sid)}/pending`, {
        token: current.token,
      })
    );
    if (seat === current) board.reconcile(pending);
  } catch {
    // the socket's own replay still shows every pending request
  }
}

/** Why a seat cannot be used, or null when it can. @param {Seat} s */
async function seatProblem(s) {
  try {
    await call("GET", `/v1/operators/${encodeURIComponent(s.sid)}`, { token: s.token });
    return null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      return "This seat does not exist (any more).";
    }
    if (err instanceof ApiError && err.status === 401) {
      return "The server refused this seat's token.";
    }
    return null;
  }
}

const settings = /** @type {HTMLDetailsElement} */ (byId("settings"));

/** Opens the API token field after a 401 from an admin route. @param {unknown} err */
function askForApiToken(err) {
  if (!(err instanceof ApiError) || err.status !== 401) return false;
  settings.open = true;
  byId("api-token").focus();
  return true;
}

/** @param {Seat} s */
function takeSeat(s) {
  seat = s;
  storeSeat(s);
  byId("seat-panel").hidden = true;
  byId("board").hidden = false;
  byId("requests").setAttribute("aria-labelledby", "requests-h");
  byId("seat-info").hidden = false;
  byId("seat-sid").textContent = s.sid;
  byId("seat-roles").textContent = s.roles.length > 0 ? s.roles.join(", ") : "no roles";
  startForm.setSeated(true);
  byId("runs").append(settings); // still reachable once the seat forms are gone
  dropped = false;
  link = connectOperator({
    sid: s.sid,
    token: s.token,
    onFrame: (frame) => board.handle(frame),
    onState,
    verify: () => seatProblem(s),
  });
  byId("requests").focus();
}

function leaveSeat() {
  fieldError(byId("join-error"), null);
  link?.close();
  link = null;
  seat = null;
  storeSeat(null);
  board.clear();
  clearInterval(countdown);
  indicate("idle", "Not seated");
  byId("seat-panel").hidden = false;
  byId("board").hidden = true;
  byId("requests").setAttribute("aria-labelledby", "seat-h");
  byId("seat-info").hidden = true;
  startForm.setSeated(false);
  byId("seat-panel").append(settings);
  /** @type {HTMLInputElement} */ (byId("mint-roles")).focus();
}

byId("mint-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId("mint-roles"));
  const error = byId("mint-error");
  const roles = input.value.split(",").map((r) => r.trim()).filter((r) => r !== "");
  try {
    const minted = /** @type {Seat} */ (await call("POST", "/v1/operators", { body: { roles } }));
    fieldError(error, null, input);
    takeSeat({ sid: minted.sid, token: minted.token, roles: minted.roles });
    announce(`Seat ${minted.sid} minted. Keep its token to join again later.`);
  } catch (err) {
    const text = /** @type {Error} */ (err).message;
    fieldError(
      error,
      askForApiToken(err) ? `${text}: enter the server's API token below.` : text,
      input,
    );
  }
});

byId("join-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const sidInput = /** @type {HTMLInputElement} */ (byId("join-sid"));
  const tokenInput = /** @type {HTMLInputElement} */ (byId("join-token"));
  const error = byId("join-error");
  const sid = sidInput.value.trim();
  const token = tokenInput.value.trim();
  if (!sid || !token) {
    fieldError(error, "Enter both the sid and its token.", sid ? tokenInput : sidInput);
    return;
  }
  try {
    const info = /** @type {{ roles: string[] }} */ (
      await call("GET", `/v1/operators/${encodeURIComponent(sid)}`, { token })
    );
    fieldError(error, null);
    takeSeat({ sid, token, roles: info.roles });
  } catch (err) {
    const status = err instanceof ApiError ? err.status : 0;
    const text = status === 404
      ? "No seat has this sid."
      : status === 401
      ? "This token does not open that seat."
      : /** @type {Error} */ (err).message;
    fieldError(error, text, status === 401 ? tokenInput : sidInput);
  }
});

retryButton.addEventListener("click", () => link?.retryNow());
byId("seat-leave").addEventListener("click", leaveSeat);
byId("seat-copy").addEventListener("click", async () => {
  if (!seat) return;
  try {
    await navigator.clipboard.writeText(`sid: ${seat.sid}\ntoken: ${seat.token}`);
    announce("Sid and token copied.");
  } catch {
    announce("The clipboard is not available here.");
  }
});

const apiInput = /** @type {HTMLInputElement} */ (byId("api-token"));
apiInput.value = apiToken();
apiInput.addEventListener("change", () => {
  setApiToken(apiInput.value.trim());
  runs.refresh();
});

const saved = storedSeat();
if (saved) takeSeat(saved);
else startForm.setSeated(false);
