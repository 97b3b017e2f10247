// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Every seat's waiting requests (`GET /v1/inbox`, an admin route): oldest first,
 * with the seat, the run and Blueprint, the age ticking and the deadline. A
 * read-only overview; each seat answers its own from its cards.
 *
 * @module
 */
import { ApiError, call } from "./api.js";
import { byId, clock, fieldError, h } from "./dom.js";
import { age } from "./context_view.js";

const REFRESH_MS = 5000;
const KIND = { ask: "Question", hook_before: "Spawn approval", spawn: "Spawn" };

/** @param {{ openRun: (runId: string) => void }} options */
export function createInbox(options) {
  const box = /** @type {HTMLDetailsElement} */ (byId("inbox-box"));
  const list = byId("inbox-list");
  const count = byId("inbox-count");
  const error = byId("inbox-error");
  /** @type {Array<{ el: HTMLElement, sent: number }>} */
  let ages = [];

  async function load() {
    if (!box.open) return;
    try {
      const { items } = /** @type {{ items: Array<Record<string, any>> }} */ (
        await call("GET", "/v1/inbox?limit=200")
      );
      fieldError(error, null);
      count.textContent = String(items.length);
      ages = [];
      list.replaceChildren(...items.map((item) => {
        const c = item.context ?? {};
        const waited = h("span", { class: "waited" });
        ages.push({ el: waited, sent: Date.parse(item.sent_at) });
        const run = c.run_id
          ? h(
            "button",
            { type: "button", class: "link", onclick: () => options.openRun(c.run_id) },
            c.run_id,
          )
          : "";
        return h(
          "li",
          { class: `inbox-item inbox-${item.kind}`, "data-req-id": item.req_id },
          h(
            "span",
            { class: `tag tag-${item.kind}` },
            KIND[/** @type {keyof KIND} */ (item.kind)] ?? item.kind,
          ),
          h("span", { class: "inbox-who" }, item.role ?? (item.roles[0] || item.sid)),
          waited,
          h(
            "span",
            { class: "inbox-where" },
            c.blueprint_id ? h("code", {}, c.blueprint_id) : "",
            c.agent ? ` · ${c.agent}` : "",
            " ",
            run,
          ),
          item.deadline ? h("span", { class: "hint" }, `until ${clock(item.deadline)}`) : "",
        );
      }));
      tick();
      if (items.length === 0) {
        list.replaceChildren(h("li", { class: "hint" }, "Nothing is waiting anywhere."));
      }
    } catch (err) {
      const text = err instanceof ApiError && err.status === 401
        ? "This needs the server's API token (below)."
        : err instanceof ApiError && err.status === 404
        ? "This server has no inbox route."
        : /** @type {Error} */ (err).message;
      fieldError(error, text);
    }
  }

  function tick() {
    for (const { el, sent } of ages) el.textContent = `waiting ${age((Date.now() - sent) / 1000)}`;
  }

  box.addEventListener("toggle", () => void load());
  setInterval(() => {
    if (document.visibilityState !== "visible" || !box.open) return;
    tick();
  }, 1000);
  setInterval(() => {
    if (document.visibilityState === "visible") void load();
  }, REFRESH_MS);
  return { refresh: load };
}
