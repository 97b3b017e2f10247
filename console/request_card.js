// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * One request card: an `ask` (question and JSON answer), a `hook_before`
 * (approve or veto) or a `spawn` (directive, worker credentials and an ack).
 *
 * @module
 */
import { announce, clock, freshId, h, prettyJson } from "./dom.js";
import { askForm, hookForm, spawnByHand } from "./reply_forms.js";
import { age, contextBlock } from "./context_view.js";

/**
 * @typedef {object} Card
 * @property {HTMLElement} el
 * @property {Record<string, unknown>} frame
 * @property {number} generation the connection it was last received on
 * @property {(sent: boolean) => void} setSent
 * @property {(text: string, issues?: import("./schema_form.js").Issue[]) => void} showError
 * @property {() => void} tick updates the waiting time
 * @property {string} sid the seat the request came to
 * @property {ReturnType<typeof setTimeout>} [removal] set while a sent card lingers
 */

/**
 * @typedef {object} CardOptions
 * @property {number} generation the connection the frame arrived on
 * @property {string} sid the seat it came to
 * @property {string} [seatLabel] shown when several seats share the view
 * @property {number} [sentAt] epoch ms it was sent (default now)
 * @property {(runId: string) => void} [openRun]
 */

/**
 * A term and its value with a copy button (nothing when the value is absent).
 *
 * @param {string} label
 * @param {unknown} value
 * @returns {HTMLElement[]}
 */
function credential(label, value) {
  if (typeof value !== "string" || value === "") return [];
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      announce(`${label} copied.`);
    } catch {
      announce("The clipboard is not available here; select the text instead.");
    }
  };
  return [
    h("dt", {}, label),
    h(
      "dd",
      {},
      h("code", {}, value),
      h(
        "button",
        { type: "button", class: "small", onclick: copy, "aria-label": `Copy ${label}` },
        "Copy",
      ),
    ),
  ];
}

/**
 * Builds the card of one request frame.
 *
 * @param {Record<string, unknown>} frame
 * @param {CardOptions} options
 * @param {(reply: Record<string, unknown>) => void} send sends a reply (req_id is added)
 * @returns {Card}
 */
export function requestCard(frame, options, send) {
  const { generation, sid } = options;
  const sentAt = options.sentAt ?? Date.now();
  const context = /** @type {Record<string, unknown> | undefined} */ (frame.context);
  const reqId = String(frame.req_id);
  const titleId = freshId("card-title");
  const status = h("p", { class: "card-status", role: "status" });
  /** @type {Array<Node | string>} */
  let title;
  let kind, body, form;
  if (frame.type === "ask") {
    kind = "Question";
    // an ask node (or a nested ask) has no step of its own: name where it comes from
    title = context?.blueprint_id && !context.agent
      ? [h("span", { class: "nowrap" }, String(context.blueprint_id)), " asks"]
      : ["Task ", h("span", { class: "nowrap" }, String(frame.task_id)), " asks"];
    // Text reads best as text; anything else as formatted JSON.
    body = typeof frame.question === "string"
      ? h("p", { class: "question" }, frame.question)
      : h("pre", { class: "json" }, prettyJson(frame.question));
    form = askForm(send, /** @type {Record<string, unknown> | undefined} */ (frame.schema));
  } else if (frame.type === "hook_before") {
    kind = "Approve spawn";
    title = [`Spawn agent ${frame.agent} (attempt ${frame.attempt})?`];
    body = h("p", { class: "meta" }, `Task ${frame.task_id}`);
    form = hookForm(send, context?.input);
  } else {
    kind = "Spawn";
    title = [`Run agent ${frame.agent} (attempt ${frame.attempt})`];
    body = h(
      "details",
      { class: "directive" },
      h("summary", {}, "Directive for an AI worker, and its credentials"),
      h("pre", { class: "json" }, String(frame.directive ?? "")),
      h(
        "dl",
        { class: "creds" },
        ...credential("Task", frame.task_id),
        ...credential("Worker handle", frame.worker_handle),
        ...credential("Capability token", frame.capability_token),
      ),
    );
    form = spawnByHand(send, frame);
  }
  const waited = h("span", { class: "waited" });
  const tick = () => (waited.textContent = `waiting ${age((Date.now() - sentAt) / 1000)}`);
  tick();
  const el = h(
    "li",
    {
      class: `card card-${frame.type}`,
      tabindex: "-1",
      "data-req-id": reqId,
      "data-sid": sid,
      "data-type": String(frame.type),
      "aria-labelledby": titleId,
    },
    h(
      "div",
      { class: "card-head" },
      h("span", { class: `tag tag-${frame.type}` }, kind),
      h("h3", { id: titleId }, ...title),
      h("time", { class: "when", datetime: new Date(sentAt).toISOString() }, clock(sentAt)),
      waited,
      options.seatLabel ? h("span", { class: "seat-tag", title: sid }, options.seatLabel) : null,
    ),
    contextBlock(frame, { openRun: options.openRun }),
    body,
    form.el,
    status,
  );
  return {
    el,
    frame,
    generation,
    sid,
    tick,
    setSent(/** @type {boolean} */ sent) {
      el.classList.toggle("sent", sent);
      status.classList.remove("error");
      form.setDisabled(sent);
      status.textContent = sent ? "Sent." : "";
    },
    showError(text, issues) {
      form.setDisabled(false);
      el.classList.remove("sent");
      status.textContent = text;
      status.classList.add("error");
      if (issues && issues.length > 0) form.showIssues?.(issues);
    },
  };
}
