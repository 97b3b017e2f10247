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
import { call } from "./api.js";
import { fieldError, freshId, h, isSendKey, parseJsonInput, prettyJson } from "./dom.js";
import { schemaForm } from "./schema_form.js";

/** @typedef {(reply: Record<string, unknown>) => void} Send */
/** @typedef {import("./schema_form.js").Issue} Issue */
/**
 * @typedef {{ el: HTMLElement, setDisabled: (disabled: boolean) => void,
 *   showIssues?: (issues: Issue[]) => void }} ReplyForm
 */

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

/**
 * The answer to an `ask`: a form generated from its `schema`, or a JSON editor.
 *
 * @param {Send} send
 * @param {Record<string, unknown>} [schema]
 * @returns {ReplyForm}
 */
export function askForm(send, schema) {
  if (schema && typeof schema === "object") {
    const form = schemaForm(schema, {
      submitLabel: "Send answer",
      onSubmit: (value) => send({ type: "answer", value }),
    });
    return { el: form.el, setDisabled: disabler(form.el), showIssues: form.showIssues };
  }
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

/**
 * Approve (as is, or with an edited input) or veto a `hook_before`.
 *
 * @param {Send} send
 * @param {unknown} [input] the step's input from the request's context
 * @returns {ReplyForm}
 */
export function hookForm(send, input) {
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
    input === undefined ? null : editBox(input, send),
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

/**
 * "Approve with edits": the step's input in an editor, sent as `hook_ack.input`.
 * A text input stays text; anything else is edited (and checked) as JSON.
 *
 * @param {unknown} input
 * @param {Send} send
 */
function editBox(input, send) {
  const id = freshId("edit");
  const asText = typeof input === "string";
  const area = /** @type {HTMLTextAreaElement} */ (h("textarea", {
    id,
    class: asText ? "" : "code",
    rows: "4",
    spellcheck: asText ? "true" : "false",
    "aria-describedby": `${id}-error`,
  }));
  area.value = asText ? input : prettyJson(input);
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  const approve = () => {
    let value = /** @type {unknown} */ (area.value);
    if (!asText) {
      const parsed = parseJsonInput(area.value);
      if (!parsed.ok) {
        fieldError(error, parsed.error, area);
        area.focus();
        return;
      }
      value = parsed.value;
    }
    fieldError(error, null, area);
    send({ type: "hook_ack", ok: true, input: value });
  };
  area.addEventListener("keydown", (e) => {
    if (isSendKey(e)) {
      e.preventDefault();
      approve();
    }
  });
  return h(
    "details",
    { class: "edits" },
    h("summary", {}, "Approve with edits"),
    h("label", { for: id }, asText ? "Step input" : "Step input (JSON)"),
    area,
    error,
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        { type: "button", class: "primary approve-edited", onclick: approve },
        "Approve edited input",
      ),
    ),
  );
}

/**
 * Does a `spawn` by hand: shows the prompt (read with the spawn's worker handle),
 * posts the result through the worker routes (text with the handle, JSON with the
 * capability token), then completes the spawn.
 *
 * @param {Send} send
 * @param {Record<string, unknown>} frame
 * @returns {ReplyForm}
 */
export function spawnByHand(send, frame) {
  const handle = typeof frame.worker_handle === "string" ? frame.worker_handle : "";
  const taskId = String(frame.task_id);
  const promptBox = h(
    "div",
    { class: "prompt-box" },
    h("p", { class: "hint" }, "Loading the prompt…"),
  );
  const load = async () => {
    try {
      const p = /** @type {{ prompt: string, system?: string }} */ (await call(
        "GET",
        `/v1/worker/prompt?task_id=${encodeURIComponent(taskId)}`,
        { token: handle || String(frame.capability_token) },
      ));
      promptBox.replaceChildren(
        h("h4", {}, "Prompt"),
        h("pre", { class: "json prompt" }, p.prompt),
        p.system
          ? h(
            "details",
            {},
            h("summary", {}, "System prompt"),
            h("pre", { class: "json" }, p.system),
          )
          : "",
      );
    } catch (err) {
      promptBox.replaceChildren(
        h(
          "p",
          { class: "error-text" },
          `The prompt could not be read: ${/** @type {Error} */ (err).message}`,
        ),
      );
    }
  };
  void load();

  const id = freshId("result");
  const area = /** @type {HTMLTextAreaElement} */ (h("textarea", {
    id,
    rows: "4",
    spellcheck: "false",
    "aria-describedby": `${id}-hint ${id}-error`,
  }));
  const hint = h(
    "p",
    { class: "hint", id: `${id}-hint` },
    "JSON ({…}, […], numbers, true/false) is posted as a value; anything else as text. " +
      "Empty sends null. Ctrl+Enter sends.",
  );
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  const okBox = /** @type {HTMLInputElement} */ (h("input", {
    id: freshId("ok"),
    type: "checkbox",
    checked: true,
  }));
  const status = h("p", { class: "hint post-status", role: "status" });

  const post = async () => {
    const text = area.value;
    const ok = okBox.checked;
    if (text.trim() === "") return send({ type: "spawn_ack", value: null, ok });
    const trimmed = text.trim();
    const parsed = /^[[{\d-]|^(true|false|null)$/.test(trimmed) ? parseJsonInput(trimmed) : null;
    try {
      status.textContent = "Posting…";
      if (parsed && parsed.ok) {
        await call("POST", "/v1/worker/result", {
          body: { task_id: taskId, value: parsed.value, ok, attempt: frame.attempt },
          token: String(frame.capability_token),
        });
      } else {
        await call("POST", `/v1/worker/submit${ok ? "" : "?ok=false"}`, {
          text,
          token: handle || String(frame.capability_token),
        });
      }
      fieldError(error, null, area);
      status.textContent = "Posted; completing the spawn…";
      // the posted result wins over the ack's value; the ack lets the run go on
      send({ type: "spawn_ack", value: parsed && parsed.ok ? parsed.value : text.trimEnd(), ok });
    } catch (err) {
      status.textContent = "";
      fieldError(error, `Not posted: ${/** @type {Error} */ (err).message}`, area);
    }
  };
  area.addEventListener("keydown", (e) => {
    if (isSendKey(e)) {
      e.preventDefault();
      void post();
    }
  });
  const failForm = spawnFailure(send);
  const el = h(
    "div",
    { class: "reply spawn-hand" },
    promptBox,
    h(
      "form",
      {
        class: "reply",
        novalidate: true,
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          void post();
        },
      },
      h("label", { for: id }, "Result"),
      area,
      hint,
      error,
      h(
        "label",
        { class: "inline" },
        okBox,
        " Result is ok ",
        h("span", { class: "hint" }, "(uncheck to block the step)"),
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "primary" }, "Post result"),
      ),
      status,
    ),
    failForm,
  );
  return { el, setDisabled: disabler(el) };
}

/** Fails a spawn with an error text. @param {Send} send */
function spawnFailure(send) {
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
  return h(
    "form",
    {
      class: "reply fail-form",
      novalidate: true,
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        fail();
      },
    },
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
      h("button", { type: "submit", class: "danger" }, "Fail with error"),
    ),
  );
}
