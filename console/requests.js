// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The request board: one card per pending `ask`, `hook_before` and `spawn`, and a
 * feed of `hook_after` frames. Cards are keyed by `req_id`, so a frame replayed
 * after a reconnect updates its card instead of adding a second one.
 *
 * @module
 */
import { announce, byId, clock, h, shortJson } from "./dom.js";
import { requestCard } from "./request_card.js";

const FEED_MAX = 50;
const SENT_LINGER_MS = 1500;
const NOTICE_MS = 8000;

/** @typedef {import("./request_card.js").Card} Card */

const CANCEL_TEXT = {
  timeout: "its deadline passed",
  run_ended: "its run ended",
  session_deleted: "the seat was deleted",
};

/**
 * @typedef {object} BoardOptions
 * @property {(frame: Record<string, unknown>, sid: string) => boolean} send through that seat
 * @property {(frame: Record<string, unknown>) => void} [onNew] a new request arrived
 * @property {(sid: string) => string | undefined} [seatLabel] shown when seats share the view
 * @property {(runId: string) => void} [openRun]
 */

/** @param {BoardOptions} options */
export function createBoard(options) {
  const list = byId("req-list");
  const empty = byId("req-empty");
  const count = byId("req-count");
  const notice = byId("req-notice");
  const feed = byId("feed");
  const feedCount = byId("feed-count");
  /** @type {Map<string, Card>} */
  const cards = new Map();
  /** Seat sid → its connection count: frames replayed on a new connection belong to it. */
  const generations = new Map();
  setInterval(() => {
    for (const card of cards.values()) card.tick();
  }, 1000);
  let feedTotal = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let noticeTimer;

  function refresh() {
    const open = [...cards.values()].filter((c) => c.removal === undefined).length;
    count.textContent = String(open);
    empty.hidden = cards.size > 0;
    document.title = open > 0 ? `(${open}) Switchboard console` : "Switchboard console";
  }

  /** @param {string} text */
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => (notice.hidden = true), NOTICE_MS);
  }

  /** @param {string} reqId */
  function remove(reqId) {
    const card = cards.get(reqId);
    if (!card) return;
    clearTimeout(card.removal);
    const hadFocus = card.el.contains(document.activeElement);
    const next = /** @type {HTMLElement | null} */ (card.el.nextElementSibling ??
      card.el.previousElementSibling);
    card.el.remove();
    cards.delete(reqId);
    refresh();
    if (hadFocus) {
      const target = /** @type {HTMLElement | null | undefined} */ (
        next?.querySelector("textarea, input, button")
      );
      (target ?? byId("requests")).focus();
    }
  }

  /**
   * Sends a reply for a card, marks it sent and removes it shortly after.
   *
   * @param {string} reqId
   * @param {Record<string, unknown>} reply
   */
  function reply(reqId, reply) {
    const card = cards.get(reqId);
    if (!card) return;
    if (!options.send({ ...reply, req_id: reqId }, card.sid)) {
      card.showError("Not connected. The request stays pending; answer again once reconnected.");
      return;
    }
    card.setSent(true);
    card.removal = setTimeout(() => remove(reqId), SENT_LINGER_MS);
    refresh();
  }

  /** @param {Record<string, unknown>} frame @param {string} sid */
  function showRequest(frame, sid) {
    const reqId = String(frame.req_id);
    const known = cards.get(reqId);
    if (known) {
      // Replayed after a reconnect: the request is still pending.
      known.generation = generations.get(sid) ?? 0;
      if (known.removal !== undefined) {
        clearTimeout(known.removal);
        known.removal = undefined;
        known.setSent(false);
      }
      refresh();
      return;
    }
    const card = requestCard(frame, {
      generation: generations.get(sid) ?? 0,
      sid,
      seatLabel: options.seatLabel?.(sid),
      openRun: options.openRun,
    }, (r) => reply(reqId, r));
    cards.set(reqId, card);
    list.append(card.el);
    refresh();
    const what = frame.type === "ask"
      ? `New question from task ${frame.task_id}.`
      : frame.type === "hook_before"
      ? `Agent ${frame.agent} waits for spawn approval.`
      : `New spawn for agent ${frame.agent}.`;
    announce(what);
    options.onNew?.(frame);
  }

  /** @param {Record<string, unknown>} frame */
  function showAfter(frame) {
    feedTotal += 1;
    feedCount.textContent = String(feedTotal);
    feed.prepend(h(
      "li",
      {},
      h("time", { class: "when" }, clock()),
      h("span", {}, ` ${frame.agent} #${frame.attempt} `),
      h("code", { class: "task" }, String(frame.task_id)),
      h("code", { class: "result" }, shortJson(frame.result)),
    ));
    while (feed.childElementCount > FEED_MAX) feed.lastElementChild?.remove();
  }

  return {
    /** Handles one server frame of seat `sid`. @param {Record<string, unknown>} frame @param {string} sid */
    handle(frame, sid) {
      switch (frame.type) {
        case "ask":
        case "hook_before":
        case "spawn":
          return showRequest(frame, sid);
        case "hook_after":
          return showAfter(frame);
        case "cancel": {
          const card = cards.get(String(frame.req_id));
          if (!card) return;
          const why = CANCEL_TEXT[/** @type {keyof CANCEL_TEXT} */ (frame.reason)] ?? frame.reason;
          remove(String(frame.req_id));
          const text = `A request from task ${card.frame.task_id} was withdrawn: ${why}.`;
          showNotice(text);
          announce(text);
          return;
        }
        case "error": {
          const card = typeof frame.req_id === "string" ? cards.get(frame.req_id) : undefined;
          if (card) {
            clearTimeout(card.removal);
            card.removal = undefined;
            card.showError(
              `The server refused this reply: ${frame.error}`,
              /** @type {import("./schema_form.js").Issue[] | undefined} */ (frame.issues),
            );
            refresh();
          } else showNotice(`The server refused a frame: ${frame.error}`);
          return;
        }
      }
    },
    /** A new connection of seat `sid` opened: frames it replays belong to it. @param {string} sid */
    connected(sid) {
      generations.set(sid, (generations.get(sid) ?? 0) + 1);
    },
    /**
     * Drops cards the server no longer holds (settled or cancelled while away).
     * @param {Array<Record<string, unknown>>} pending the seat's pending frames now
     * @param {string} sid
     */
    reconcile(pending, sid) {
      const live = new Set(pending.map((f) => String(f.req_id)));
      const now = generations.get(sid) ?? 0;
      for (const [reqId, card] of cards) {
        if (card.sid === sid && card.generation < now && !live.has(reqId)) remove(reqId);
      }
      for (const frame of pending) if (!cards.has(String(frame.req_id))) showRequest(frame, sid);
    },
    /** Removes the cards of seat `sid`, or every card. @param {string} [sid] */
    clear(sid) {
      for (const [reqId, card] of [...cards]) {
        if (sid === undefined || card.sid === sid) remove(reqId);
      }
      if (sid !== undefined) return;
      feed.replaceChildren();
      feedTotal = 0;
      feedCount.textContent = "0";
      notice.hidden = true;
    },
    /** How many requests wait for a reply. */
    get open() {
      return [...cards.values()].filter((c) => c.removal === undefined).length;
    },
  };
}
