// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Tiny DOM helpers for the console: element building, JSON text and announcements.
 *
 * @module
 */

/**
 * Builds an element. `attrs` keys starting with `on` add listeners; `false`,
 * `null` and `undefined` values are skipped; children may be strings or nodes.
 *
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    } else if (key === "class") {
      el.className = String(value);
    } else if (key === "text") {
      el.textContent = String(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** @param {string} id */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console: missing #${id}`);
  return el;
}

let uid = 0;
/** A fresh element id with a readable prefix. @param {string} prefix */
export function freshId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Pretty JSON for display. @param {unknown} value */
export function prettyJson(value) {
  return JSON.stringify(value, null, 2) ?? "null";
}

/** One-line JSON, cut to `max` characters. @param {unknown} value @param {number} [max] */
export function shortJson(value, max = 140) {
  const text = JSON.stringify(value) ?? "null";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Parses JSON typed by a person. Returns `{ ok: true, value }` or a readable error.
 *
 * @param {string} text
 * @returns {{ ok: true, value: unknown } | { ok: false, error: string }}
 */
export function parseJsonInput(text) {
  if (text.trim() === "") {
    return { ok: false, error: 'Enter a JSON value, for example "yes", 42 or {"ok": true}.' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const trimmed = text.trim();
    if (!/^[[{"\d-]/.test(trimmed) && !trimmed.includes("\n")) {
      // Plain words: the usual slip is forgetting the quotes around text.
      return {
        ok: false,
        error: `Not valid JSON. To send text, quote it: ${JSON.stringify(trimmed)}`,
      };
    }
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, error: `Not valid JSON: ${message}` };
  }
}

/** A short local time for a timestamp. @param {number | string | Date} [when] */
export function clock(when = Date.now()) {
  return new Date(when).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/**
 * Tells screen readers something (polite by default).
 *
 * @param {string} text
 */
export function announce(text) {
  const region = byId("announcer");
  region.textContent = "";
  // A new text node in a cleared region is announced even when the text repeats.
  setTimeout(() => (region.textContent = text), 30);
}

/**
 * Shows or hides a field error and marks the field invalid.
 *
 * @param {HTMLElement} errorEl
 * @param {string | null} message
 * @param {HTMLElement} [field]
 */
export function fieldError(errorEl, message, field) {
  errorEl.hidden = message === null;
  errorEl.textContent = message ?? "";
  if (field) {
    if (message === null) field.removeAttribute("aria-invalid");
    else field.setAttribute("aria-invalid", "true");
  }
}

/** True for Ctrl+Enter or Cmd+Enter. @param {KeyboardEvent} event */
export function isSendKey(event) {
  return event.key === "Enter" && (event.ctrlKey || event.metaKey);
}
