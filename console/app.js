// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The console's entry point: the seats (mint, join, invite links, leave; several
 * in one view), the connection indicator of the first seat, and the wiring
 * between the sockets, the request board, notifications, keys and the runs.
 *
 * @module
 */
import { ApiError, apiToken, call, setApiToken, storedSeats, storeSeats } from "./api.js";
import { announce, byId, fieldError, h } from "./dom.js";
import { createBoard } from "./requests.js";
import { createRunsPanel } from "./runs.js";
import { connectOperator } from "./socket.js";
import { createStartForm } from "./start_form.js";
import { createNotifier } from "./notify.js";
import { installKeys } from "./keys.js";
import { inviteFromHash, inviteLink } from "./invite.js";
import { createInbox } from "./inbox.js";

/** @typedef {import("./api.js").Seat} Seat */

/**
 * @typedef {object} Held one seat held by this tab
 * @property {Seat} seat
 * @property {ReturnType<typeof connectOperator>} link
 * @property {HTMLElement} chip
 * @property {boolean} dropped
 * @property {ReturnType<typeof setInterval> | undefined} countdown
 * @property {ReturnType<typeof setTimeout> | undefined} settle
 */

const conn = byId("conn");
const connText = byId("conn-text");
const retryButton = /** @type {HTMLButtonElement} */ (byId("conn-retry"));
const seatList = byId("seat-list");

/** @type {Map<string, Held>} in the order taken; the first is the header's */
const held = new Map();
const first = () => held.values().next().value;

const runs = createRunsPanel();
const notifier = createNotifier();
const board = createBoard({
  send: (frame, sid) => held.get(sid)?.link.send(frame) ?? false,
  seatLabel: (sid) => held.size > 1 ? labelOf(sid) : undefined,
  openRun: (runId) => runs.select(runId),
  onNew(frame) {
    runs.soon();
    void inbox.refresh();
    notifier.arrived(frame, board.open);
  },
});
const startForm = createStartForm({
  seatSid: () => first()?.seat.sid ?? null,
  seatRole: () => first()?.seat.roles[0] ?? first()?.seat.sid ?? null,
  started(runId) {
    announce(`Run ${runId} started.`);
    runs.refresh();
    runs.select(runId);
  },
});
installKeys({ board, runs });
const inbox = createInbox({ openRun: (runId) => runs.select(runId) });

/** A short name for a seat: its first role, else its sid's end. @param {string} sid */
function labelOf(sid) {
  const s = held.get(sid)?.seat;
  return s?.roles[0] ?? `…${sid.slice(-6)}`;
}

/**
 * The header indicator (it follows the first seat).
 *
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

/**
 * Shows a seat's state: on its chip, and in the header when it is the first seat.
 *
 * @param {Held} entry
 * @param {string} state
 * @param {string} text
 * @param {{ retry?: string }} [options]
 */
function show(entry, state, text, options = {}) {
  entry.chip.dataset.state = state;
  const label = /** @type {HTMLElement} */ (entry.chip.querySelector(".chip-state"));
  label.textContent = text;
  const retry = /** @type {HTMLButtonElement} */ (entry.chip.querySelector(".chip-retry"));
  retry.hidden = options.retry === undefined;
  if (options.retry) retry.textContent = options.retry;
  if (first() === entry) indicate(state, text, options);
}

/** @param {Held} entry @param {import("./socket.js").ConnectionState} s */
function onState(entry, s) {
  clearInterval(entry.countdown);
  clearTimeout(entry.settle);
  const sid = entry.seat.sid;
  if (s.state === "connecting") {
    show(
      entry,
      "connecting",
      entry.dropped ? `Reconnecting (attempt ${s.attempt})…` : "Connecting…",
    );
  } else if (s.state === "open") {
    show(entry, "open", s.reconnected ? "Connected again" : "Connected");
    if (s.reconnected) entry.settle = setTimeout(() => show(entry, "open", "Connected"), 5000);
    if (entry.dropped) announce("Connection restored. Pending requests are shown again.");
    entry.dropped = false;
    board.connected(sid);
    syncPending(entry);
  } else if (s.state === "closed") {
    if (!entry.dropped) announce("Connection lost. Reconnecting automatically.");
    entry.dropped = true;
    const tick = () => {
      const secs = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
      show(entry, "closed", `Disconnected, retrying in ${secs} s`, { retry: "Retry now" });
    };
    tick();
    entry.countdown = setInterval(tick, 500);
  } else if (s.resumable) {
    entry.dropped = true;
    show(entry, "ended", `${s.reason}.`, { retry: "Take the seat back" });
    announce(`${s.reason}.`);
  } else {
    // The seat is gone for good: drop it, saying why.
    const text = `${s.reason}. Mint a new seat or join another.`;
    leaveSeat(sid);
    fieldError(byId("join-error"), text);
    announce(text);
  }
}

/** Reconciles the board with a seat's pending list after a (re)connect. @param {Held} entry */
async function syncPending(entry) {
  const { sid, token } = entry.seat;
  try {
    const { pending } = /** @type {{ pending: Array<Record<string, unknown>> }} */ (
      await call("GET", `/v1/operators/${encodeURIComponent(sid)}/pending`, { token })
    );
    if (held.get(sid) === entry) board.reconcile(pending, sid);
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

/** Copies a text, announcing the result. @param {string} text @param {string} what */
async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    announce(`${what} copied.`);
  } catch {
    announce("The clipboard is not available here.");
  }
}

/** The chip of a seat in the board's seat list. @param {Seat} s */
function seatChip(s) {
  const retry = h("button", { type: "button", class: "small chip-retry", hidden: true });
  retry.addEventListener("click", () => held.get(s.sid)?.link.retryNow());
  return h(
    "li",
    { class: "chip", "data-sid": s.sid, "data-state": "connecting" },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("code", { class: "sid" }, s.sid),
    h("span", { class: "roles" }, s.roles.length > 0 ? s.roles.join(", ") : "no roles"),
    h("span", { class: "chip-state" }, "Connecting…"),
    retry,
    h("button", {
      type: "button",
      class: "small",
      onclick: () => copy(inviteLink(s), "Invite link"),
      title: "A link that joins this seat at once (it carries the token)",
    }, "Copy invite link"),
    h("button", { type: "button", class: "small", onclick: () => leaveSeat(s.sid) }, "Leave"),
  );
}

function layout() {
  const one = first();
  const seated = one !== undefined;
  byId("seat-panel").hidden = seated && !adding;
  byId("board").hidden = !seated;
  byId("seat-cancel").hidden = !seated;
  byId("seat-h").textContent = seated ? "Add a seat" : "Take a seat";
  byId("requests").setAttribute("aria-labelledby", seated && !adding ? "requests-h" : "seat-h");
  byId("seat-info").hidden = !seated;
  byId("seat-sid").textContent = one?.seat.sid ?? "";
  byId("seat-roles").textContent = one
    ? (one.seat.roles.length > 0 ? one.seat.roles.join(", ") : "no roles")
    : "";
  byId("seat-more").textContent = held.size > 1 ? `+${held.size - 1} more` : "";
  seatList.hidden = held.size < 2;
  startForm.setSeated(seated);
  (seated ? byId("runs") : byId("seat-panel")).append(settings);
  storeSeats([...held.values()].map((e) => e.seat));
}

let adding = false;

/** @param {Seat} s */
function takeSeat(s) {
  held.get(s.sid)?.link.close();
  held.get(s.sid)?.chip.remove();
  /** @type {Held} */
  const entry = {
    seat: s,
    chip: seatChip(s),
    dropped: false,
    countdown: undefined,
    settle: undefined,
    link: /** @type {ReturnType<typeof connectOperator>} */ (/** @type {unknown} */ (null)),
  };
  held.set(s.sid, entry);
  seatList.append(entry.chip);
  adding = false;
  fieldError(byId("join-error"), null);
  layout();
  entry.link = connectOperator({
    sid: s.sid,
    token: s.token,
    onFrame: (frame) => board.handle(frame, s.sid),
    onState: (state) => onState(entry, state),
    verify: () => seatProblem(s),
  });
  byId("requests").focus();
}

/** Leaves one seat (the first one when no sid is given). @param {string} [sid] */
function leaveSeat(sid) {
  const entry = sid ? held.get(sid) : first();
  if (!entry) return;
  entry.link.close();
  clearInterval(entry.countdown);
  clearTimeout(entry.settle);
  entry.chip.remove();
  held.delete(entry.seat.sid);
  board.clear(entry.seat.sid);
  const next = first();
  if (next) {
    // the header now follows the next seat
    const state = next.chip.dataset.state ?? "connecting";
    const text = next.chip.querySelector(".chip-state")?.textContent ?? "";
    indicate(state, text);
  } else {
    board.clear();
    indicate("idle", "Not seated");
  }
  layout();
  if (!next) /** @type {HTMLInputElement} */ (byId("mint-roles")).focus();
}

byId("mint-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId("mint-roles"));
  const error = byId("mint-error");
  const roles = input.value.split(",").map((r) => r.trim()).filter((r) => r !== "");
  try {
    const minted = /** @type {Seat} */ (await call("POST", "/v1/operators", { body: { roles } }));
    fieldError(error, null, input);
    input.value = "";
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

/**
 * Joins a seat by sid and token. Returns an error text, or null once seated.
 *
 * @param {string} sid
 * @param {string} token
 */
async function join(sid, token) {
  try {
    const info = /** @type {{ roles: string[] }} */ (
      await call("GET", `/v1/operators/${encodeURIComponent(sid)}`, { token })
    );
    takeSeat({ sid, token, roles: info.roles });
    return null;
  } catch (err) {
    const status = err instanceof ApiError ? err.status : 0;
    return {
      status,
      text: status === 404
        ? "No seat has this sid."
        : status === 401
        ? "This token does not open that seat."
        : /** @type {Error} */ (err).message,
    };
  }
}

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
  const problem = await join(sid, token);
  if (!problem) {
    fieldError(error, null);
    sidInput.value = "";
    tokenInput.value = "";
    return;
  }
  fieldError(error, problem.text, problem.status === 401 ? tokenInput : sidInput);
});

retryButton.addEventListener("click", () => first()?.link.retryNow());
byId("seat-leave").addEventListener("click", () => leaveSeat());
byId("seat-copy").addEventListener("click", () => {
  const one = first();
  if (one) copy(`sid: ${one.seat.sid}\ntoken: ${one.seat.token}`, "Sid and token");
});
byId("seat-invite").addEventListener("click", () => {
  const one = first();
  if (one) copy(inviteLink(one.seat), "Invite link");
});
byId("seat-add").addEventListener("click", () => {
  adding = true;
  layout();
  /** @type {HTMLInputElement} */ (byId("mint-roles")).focus();
});
byId("seat-cancel").addEventListener("click", () => {
  adding = false;
  layout();
  byId("requests").focus();
});

const apiInput = /** @type {HTMLInputElement} */ (byId("api-token"));
apiInput.value = apiToken();
apiInput.addEventListener("change", () => {
  setApiToken(apiInput.value.trim());
  runs.refresh();
});

for (const s of storedSeats()) takeSeat(s);
if (held.size === 0) startForm.setSeated(false);

/** An invite link (`#sid=…&token=…`) joins at once; the token leaves the address bar. */
async function followInvite() {
  const invite = inviteFromHash(location.hash);
  if (!invite) return;
  history.replaceState(null, "", location.pathname + location.search);
  if (held.has(invite.sid)) return;
  const problem = await join(invite.sid, invite.token);
  if (problem) {
    fieldError(byId("join-error"), `The invite link did not work: ${problem.text}`);
  } else {
    announce(`Joined seat ${invite.sid} from the invite link.`);
  }
}
globalThis.addEventListener("hashchange", followInvite);
void followInvite();
