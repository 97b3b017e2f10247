// @ts-check
/// <reference lib="dom" />
/**
 * Telling the person a request arrived: the tab title counts open requests, and a
 * browser notification fires while the tab is hidden (once permission is given
 * with the "Notify me" button).
 *
 * @module
 */
import { byId } from "./dom.js";

const TITLE = "Switchboard console";

/** One line about a request frame. @param {Record<string, unknown>} frame */
function summary(frame) {
  const c = /** @type {Record<string, unknown> | undefined} */ (frame.context);
  const where = c?.blueprint_id ? ` (${c.blueprint_id})` : "";
  if (frame.type === "ask") {
    const q = typeof frame.question === "string" ? frame.question : "a question";
    return { title: `Question${where}`, body: q.slice(0, 180) };
  }
  if (frame.type === "hook_before") {
    return { title: `Approve spawn${where}`, body: `Agent ${frame.agent} waits for approval.` };
  }
  return { title: `Spawn${where}`, body: `Agent ${frame.agent} is yours to run.` };
}

export function createNotifier() {
  const button = /** @type {HTMLButtonElement} */ (byId("notify-toggle"));
  const supported = typeof Notification !== "undefined";
  const sync = () => {
    button.hidden = !supported || Notification.permission === "granted";
    button.disabled = supported && Notification.permission === "denied";
    if (button.disabled) button.textContent = "Notifications blocked";
  };
  button.addEventListener("click", async () => {
    if (!supported) return;
    await Notification.requestPermission();
    sync();
  });
  sync();
  /** The title count follows the board. @param {number} open */
  const title = (open) => (document.title = open > 0 ? `(${open}) ${TITLE}` : TITLE);
  return {
    title,
    /**
     * A new request arrived: notify when the tab is hidden.
     * @param {Record<string, unknown>} frame
     * @param {number} open
     */
    arrived(frame, open) {
      title(open);
      if (!supported || Notification.permission !== "granted") return;
      if (document.visibilityState !== "hidden") return;
      const { title: head, body } = summary(frame);
      const note = new Notification(head, { body, tag: String(frame.req_id) });
      note.onclick = () => {
        globalThis.focus();
        note.close();
      };
    },
  };
}
