// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Global keys: `j`/`k` move between request cards, `a` approves (or sends) the
 * current card, `v` vetoes it, `/` searches runs, `?` shows the help. Keys typed
 * into a field are left alone.
 *
 * @module
 */
import { announce, byId } from "./dom.js";

/** @param {EventTarget | null} target */
function typing(target) {
  const el = /** @type {HTMLElement | null} */ (target);
  return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

/** The card the focus is in, if any. */
function currentCard() {
  return /** @type {HTMLElement | null} */ (document.activeElement?.closest(".card") ?? null);
}

/** @param {{ board: unknown, runs: { focusSearch(): void } }} options */
export function installKeys(options) {
  const help = /** @type {HTMLDialogElement} */ (byId("help"));
  byId("help-close").addEventListener("click", () => help.close());
  byId("help-open").addEventListener("click", () => help.showModal());

  /** @param {number} step */
  const move = (step) => {
    const cards = /** @type {HTMLElement[]} */ ([...document.querySelectorAll(".card:not(.sent)")]);
    if (cards.length === 0) return announce("No requests are waiting.");
    const at = cards.indexOf(/** @type {HTMLElement} */ (currentCard()));
    const next =
      cards[at < 0 ? (step > 0 ? 0 : cards.length - 1) : (at + step + cards.length) % cards.length];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  };

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (help.open && e.key !== "?") return;
    const card = currentCard();
    switch (e.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "a": {
        if (!card) return announce("Move to a request first (j or k).");
        const button = /** @type {HTMLButtonElement | null} */ (
          card.querySelector("button.approve, form.reply button.primary")
        );
        if (card.dataset.type === "hook_before" || card.dataset.type === "ask") button?.click();
        else button?.focus(); // a spawn's result is typed first
        break;
      }
      case "v": {
        if (!card || card.dataset.type !== "hook_before") return;
        /** @type {HTMLElement | null} */ (card.querySelector("button.veto"))?.click();
        break;
      }
      case "/":
        options.runs.focusSearch();
        break;
      case "?":
        if (help.open) help.close();
        else help.showModal();
        break;
      default:
        return;
    }
    e.preventDefault();
  });
}
