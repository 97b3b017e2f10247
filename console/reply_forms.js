// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The reply forms inside request cards: an answer (JSON), a hook approval or
 * veto, and a spawn ack. Each validates before it sends, and each can be sent
 * from the keyboard (Ctrl+Enter in a JSON editor, Enter in a one-line field).
 *
 * @module
 */
import { fieldError, freshId, h, isSendKey, parseJsonInput } from "./dom.js";

/** @typedef {(reply: Record<string, unknown>) => void} Send */
/** @typedef {{ el: HTMLElement, setDisabled: (disabled: boolean) => void }} ReplyForm */

/**
 * A labelled JSON editor with its hint and error line.
 *
 * @param {string} label
 * @param {string} hint
 * @param {() => void} onSend called on Ctrl+Enter
 */
function jsonField(label, hint, onSend) {
  const id = freshId("json");
  const hintEl = h("p", { class: "hint", id: `${id}-hint` }, hint);
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  const input = /** @type {HTMLTextAreaElement} */ (h("textarea", {
    id,
    class: "code",
    rows: "3",
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": `${id}-hint ${id}-error`,
    onkeydown: (/** @type {KeyboardEvent} */ e) => {
      if (isSendKey(e)) {
        e.preventDefault();
        onSend();
      }
    },
    oninput: () => {
      if (!error.hidden && parseJsonInput(input.value).ok) fieldError(error, null, input);
    },
  }));
  return {
    nodes: [h("label", { for: id }, label), input, hintEl, error],
    input,
    /** The parsed value, or undefined after showing why not. */
    read() {
      const parsed = parseJsonInput(input.value);
      if (parsed.ok) {
        fieldError(error, null, input);
        return { value: parsed.value };
      }
      fieldError(error, parsed.error, input);
      input.focus();
      return undefined;
    },
  };
}

/** @param {HTMLElement} form */
function disabler(form) {
  return (/** @type {boolean} */ disabled) => {
    for (const el of form.querySelectorAll("textarea, input, button")) {
      /** @type {HTMLInputElement} */ (el).disabled = disabled;
    }
  };
}

/** The answer to an `ask`. @param {Send} send @returns {ReplyForm} */
export function askForm(send) {
  const submit = () => {
    const read = field.read();
    if (read) send({ type: "answer", value: read.value });
  };
  const field = jsonField(
    "Answer (JSON)",
    'Any JSON value: "yes", 42, {"approved": true}. Ctrl+Enter sends.',
    submit,
  );
  const el = h(
    "form",
    {
      class: "reply",
      novalidate: true,
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        submit();
      },
    },
    ...field.nodes,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Send answer"),
    ),
  );
  return { el, setDisabled: disabler(el) };
}

/** Approve or veto a `hook_before`. @param {Send} send @returns {ReplyForm} */
export function hookForm(send) {
  const id = freshId("reason");
  const reason = /** @type {HTMLInputElement} */ (h("input", {
    id,
    autocomplete: "off",
    "aria-describedby": `${id}-hint`,
    placeholder: "why not?",
  }));
  const veto = () => {
    const text = reason.value.trim();
    send({ type: "hook_ack", ok: false, ...(text ? { reason: text } : {}) });
  };
  const el = h(
    "form",
    {
      class: "reply",
      novalidate: true,
      onsubmit: (/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        // Enter in the reason field vetoes; the Approve button approves.
        const approve = /** @type {HTMLElement | null} */ (e.submitter)?.dataset.ok === "true";
        if (approve) send({ type: "hook_ack", ok: true });
        else veto();
      },
    },
    h("label", { for: id }, "Veto reason ", h("span", { class: "hint" }, "optional")),
    reason,
    h("p", { class: "hint", id: `${id}-hint` }, "Enter in this field vetoes with the reason."),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary approve", "data-ok": "true" }, "Approve"),
      h("button", { type: "submit", class: "danger veto", "data-ok": "false" }, "Veto"),
    ),
  );
  // Enter in a text field submits with the *first* submit button: route it to Veto.
  reason.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      veto();
    }
  });
  return { el, setDisabled: disabler(el) };
}

/** Ack a `spawn` with output or an error. @param {Send} send @returns {ReplyForm} */
export function spawnForm(send) {
  const ack = () => {
    const text = field.input.value.trim();
    const read = text === "" ? { value: null } : field.read();
    if (read) send({ type: "spawn_ack", value: read.value, ok: ok.checked });
  };
  const field = jsonField(
    "Output (JSON)",
    "The worker's output; empty sends null. Ctrl+Enter sends.",
    ack,
  );
  const okId = freshId("ok");
  const ok =
    /** @type {HTMLInputElement} */ (h("input", { id: okId, type: "checkbox", checked: true }));
  const errId = freshId("spawn-error");
  const errorInput = /** @type {HTMLInputElement} */ (h("input", {
    id: errId,
    autocomplete: "off",
    placeholder: "what went wrong",
  }));
  const errorMsg = h("p", { class: "field-error", role: "alert", hidden: true });
  const fail = () => {
    const text = errorInput.value.trim();
    if (!text) {
      fieldError(errorMsg, "Describe the error to fail the attempt.", errorInput);
      errorInput.focus();
      return;
    }
    fieldError(errorMsg, null, errorInput);
    send({ type: "spawn_ack", ok: false, error: text });
  };
  errorInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      fail();
    }
  });
  const el = h(
    "form",
    {
      class: "reply",
      novalidate: true,
      onsubmit: (/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        if (/** @type {HTMLElement | null} */ (e.submitter)?.dataset.fail === "true") fail();
        else ack();
      },
    },
    ...field.nodes,
    h(
      "label",
      { class: "inline" },
      ok,
      " Output is ok ",
      h("span", { class: "hint" }, "(uncheck to block the step)"),
    ),
    h(
      "label",
      { for: errId },
      "Error ",
      h("span", { class: "hint" }, "fails the attempt; Enter sends"),
    ),
    errorInput,
    errorMsg,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Send output"),
      h("button", { type: "submit", class: "danger", "data-fail": "true" }, "Fail with error"),
    ),
  );
  return { el, setDisabled: disabler(el) };
}
