// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * A form generated from a JSON Schema: labels from `title` (else the property
 * name) and hints from `description`, the right input per type, enums as
 * choices, required fields marked, errors inline next to their field, and a
 * raw-JSON fallback (a toggle, and the only editor for schemas it cannot draw).
 * The server checks the answer again (Ajv); its issues show on the fields too.
 *
 * @module
 */
import { fieldError, freshId, h, parseJsonInput, prettyJson } from "./dom.js";

/** @typedef {Record<string, any>} Schema */
/**
 * A server issue (protocol/issues.ts): zod's `path`, the same place as a JSON
 * `pointer` (`""` for the answer itself), and a message.
 * @typedef {{ path: Array<string | number>, pointer: string, message: string }} Issue
 */

/**
 * @typedef {object} FieldNode
 * @property {HTMLElement} el
 * @property {() => { ok: true, value: unknown, present: boolean } | { ok: false }} read
 * @property {(message: string | null) => void} showError
 * @property {(path: string) => FieldNode | undefined} find
 * @property {HTMLElement} focusEl
 */

const PRIMITIVE = new Set(["string", "number", "integer", "boolean"]);

/** The type a schema names (the first non-null of a list), or undefined. @param {Schema} s */
function typeOf(s) {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== "null");
  if (typeof s.type === "string") return s.type;
  if (Array.isArray(s.enum)) return "enum";
  if (s.properties) return "object";
  return undefined;
}

/** True when every part of `s` can be drawn as fields. @param {Schema} s @returns {boolean} */
export function drawable(s) {
  if (!s || typeof s !== "object") return false;
  if (Array.isArray(s.enum)) return s.enum.length > 0;
  const type = typeOf(s);
  if (type === "object") {
    return Object.values(s.properties ?? {}).every((p) => drawable(/** @type {Schema} */ (p)));
  }
  if (type === "array") {
    const items = s.items ?? {};
    return PRIMITIVE.has(typeOf(items) ?? "") || Array.isArray(items.enum);
  }
  return PRIMITIVE.has(type ?? "");
}

/** A human label for a field. @param {Schema} s @param {string} name */
function labelOf(s, name) {
  if (typeof s.title === "string" && s.title) return s.title;
  return name ? name.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase()) : "Answer";
}

/** Checks one primitive value against its schema's limits. @param {Schema} s @param {unknown} v */
function limits(s, v) {
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    return `choose one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`;
  }
  if (typeof v === "string") {
    if (typeof s.minLength === "number" && v.length < s.minLength) {
      return s.minLength === 1 ? "must not be empty" : `at least ${s.minLength} characters`;
    }
    if (typeof s.maxLength === "number" && v.length > s.maxLength) {
      return `at most ${s.maxLength} characters`;
    }
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v)) {
      return `must match ${s.pattern}`;
    }
  }
  if (typeof v === "number") {
    if (typeof s.minimum === "number" && v < s.minimum) return `must be ≥ ${s.minimum}`;
    if (typeof s.maximum === "number" && v > s.maximum) return `must be ≤ ${s.maximum}`;
    if (typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum) {
      return `must be > ${s.exclusiveMinimum}`;
    }
    if (typeof s.exclusiveMaximum === "number" && v >= s.exclusiveMaximum) {
      return `must be < ${s.exclusiveMaximum}`;
    }
  }
  return null;
}

/**
 * One field: a label, the input, a hint and an error line.
 *
 * @param {Schema} s
 * @param {string} name
 * @param {string} path JSON pointer of the field
 * @param {boolean} required
 * @param {unknown} initial
 * @returns {FieldNode}
 */
function field(s, name, path, required, initial) {
  const type = typeOf(s);
  if (type === "object") return objectField(s, name, path, initial);
  const id = freshId("sf");
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  const hint = typeof s.description === "string"
    ? h("p", { class: "hint", id: `${id}-hint` }, s.description)
    : null;
  const described = [hint ? `${id}-hint` : "", `${id}-error`].join(" ").trim();
  const mark = required
    ? h("span", { class: "req", "aria-hidden": "true", title: "required" }, " *")
    : h("span", { class: "hint" }, " optional");
  /** @type {HTMLElement} */
  let input;
  /** @type {() => { ok: true, value: unknown, present: boolean } | { ok: false, error: string }} */
  let get;
  const common = { id, "aria-describedby": described, "aria-required": required ? "true" : false };
  const start = initial ?? s.default;
  if (type === "boolean") {
    const box = /** @type {HTMLInputElement} */ (h("input", {
      ...common,
      type: "checkbox",
      checked: start === true,
    }));
    input = box;
    get = () => ({ ok: true, value: box.checked, present: true });
    const el = h(
      "div",
      { class: "sf-field sf-bool", "data-path": path },
      h("label", { class: "inline", for: id }, box, ` ${labelOf(s, name)}`),
      hint,
      error,
    );
    return leaf(el, box, get, error);
  }
  if (Array.isArray(s.enum) || (type === "array" && Array.isArray(s.items?.enum))) {
    const multiple = type === "array";
    const options = multiple ? s.items.enum : s.enum;
    const chosen = multiple ? (Array.isArray(start) ? start : []) : [start];
    if (options.length <= 4 || multiple) {
      // a few choices read best as radio buttons (or check boxes for a list)
      const group = freshId("sf-choice");
      const inputs = options.map((
        /** @type {unknown} */ option,
        /** @type {number} */ i,
      ) => /** @type {HTMLInputElement} */ (h("input", {
        type: multiple ? "checkbox" : "radio",
        name: group,
        id: i === 0 ? id : `${id}-${i}`,
        value: String(i),
        checked: chosen.some((c) => JSON.stringify(c) === JSON.stringify(option)),
        "aria-describedby": described,
      })));
      const fieldset = h(
        "fieldset",
        { class: "sf-field sf-choice", "data-path": path, id: `${id}-set` },
        h("legend", {}, labelOf(s, name), mark),
        hint,
        ...inputs.map((/** @type {HTMLInputElement} */ inp, /** @type {number} */ i) =>
          h("label", { class: "inline", for: inp.id }, inp, ` ${String(options[i])}`)
        ),
        error,
      );
      get = () => {
        const picked = inputs.flatMap((
          /** @type {HTMLInputElement} */ inp,
          /** @type {number} */ i,
        ) => inp.checked ? [options[i]] : []);
        if (multiple) return { ok: true, value: picked, present: picked.length > 0 || required };
        return picked.length === 0
          ? { ok: true, value: undefined, present: false }
          : { ok: true, value: picked[0], present: true };
      };
      return leaf(fieldset, inputs[0], get, error, inputs);
    }
    const select = /** @type {HTMLSelectElement} */ (h(
      "select",
      common,
      h("option", { value: "" }, required ? "Choose…" : "(none)"),
      ...options.map((/** @type {unknown} */ o, /** @type {number} */ i) =>
        h("option", {
          value: String(i),
          selected: JSON.stringify(o) === JSON.stringify(start),
        }, String(o))
      ),
    ));
    input = select;
    get = () =>
      select.value === ""
        ? { ok: true, value: undefined, present: false }
        : { ok: true, value: options[Number(select.value)], present: true };
  } else if (type === "number" || type === "integer") {
    const num = /** @type {HTMLInputElement} */ (h("input", {
      ...common,
      type: "number",
      inputmode: type === "integer" ? "numeric" : "decimal",
      step: type === "integer" ? "1" : "any",
      value: typeof start === "number" ? String(start) : false,
      min: typeof s.minimum === "number" ? String(s.minimum) : false,
      max: typeof s.maximum === "number" ? String(s.maximum) : false,
    }));
    input = num;
    get = () => {
      const text = num.value.trim();
      if (text === "") {
        return num.validity.badInput
          ? { ok: false, error: "enter a number" }
          : { ok: true, value: undefined, present: false };
      }
      const n = Number(text);
      if (!Number.isFinite(n)) return { ok: false, error: "enter a number" };
      if (type === "integer" && !Number.isInteger(n)) {
        return { ok: false, error: "enter a whole number" };
      }
      return { ok: true, value: n, present: true };
    };
  } else if (type === "array") {
    // a list of strings or numbers, one per line
    const itemType = typeOf(s.items ?? {}) ?? "string";
    const area = /** @type {HTMLTextAreaElement} */ (h("textarea", {
      ...common,
      rows: "3",
      text: Array.isArray(start) ? start.join("\n") : "",
    }));
    input = area;
    get = () => {
      const lines = area.value.split("\n").map((l) => l.trim()).filter((l) => l !== "");
      if (itemType === "string") return { ok: true, value: lines, present: true };
      const nums = lines.map(Number);
      if (nums.some((n) => !Number.isFinite(n))) return { ok: false, error: "one number per line" };
      return { ok: true, value: nums, present: true };
    };
  } else {
    const long = (s.maxLength ?? 0) > 200 || s.format === "textarea" ||
      /comment|note|reason|description|text|body/i.test(name);
    const text = /** @type {HTMLInputElement} */ (h(long ? "textarea" : "input", {
      ...common,
      ...(long ? { rows: "3" } : {
        type: s.format === "email" ? "email" : s.format === "uri" ? "url" : "text",
        autocomplete: "off",
      }),
    }));
    text.value = typeof start === "string" ? start : "";
    input = text;
    get = () =>
      text.value === ""
        ? { ok: true, value: undefined, present: false }
        : { ok: true, value: text.value, present: true };
  }
  const el = h(
    "div",
    { class: "sf-field", "data-path": path },
    h("label", { for: id }, labelOf(s, name), mark),
    input,
    hint,
    error,
  );
  return leaf(el, input, get, error);

  /**
   * @param {HTMLElement} el
   * @param {HTMLElement} focusEl
   * @param {typeof get} raw
   * @param {HTMLElement} errorEl
   * @param {HTMLElement[]} [marked] the inputs marked invalid (all radios of a group)
   * @returns {FieldNode}
   */
  function leaf(el, focusEl, raw, errorEl, marked = [focusEl]) {
    const showError = (/** @type {string | null} */ message) => {
      fieldError(errorEl, message);
      for (const m of marked) {
        if (message === null) m.removeAttribute("aria-invalid");
        else m.setAttribute("aria-invalid", "true");
      }
    };
    for (const m of marked) m.addEventListener("input", () => showError(null));
    /** @type {FieldNode} */
    const node = {
      el,
      focusEl,
      showError,
      find: (p) => (p === path ? node : undefined),
      read() {
        const got = raw();
        if (!got.ok) {
          showError(`${labelOf(s, name)}: ${got.error}`);
          return { ok: false };
        }
        if (!got.present) {
          if (required) {
            showError(`${labelOf(s, name)} is required`);
            return { ok: false };
          }
          showError(null);
          return got;
        }
        const values = type === "array" ? /** @type {unknown[]} */ (got.value) : [got.value];
        const itemSchema = type === "array" ? (s.items ?? {}) : s;
        for (const v of values) {
          const problem = limits(itemSchema, v);
          if (problem) {
            showError(`${labelOf(s, name)}: ${problem}`);
            return { ok: false };
          }
        }
        if (type === "array" && typeof s.minItems === "number" && values.length < s.minItems) {
          showError(`${labelOf(s, name)}: at least ${s.minItems} item(s)`);
          return { ok: false };
        }
        showError(null);
        return got;
      },
    };
    return node;
  }
}

/**
 * An object: a group of fields (the root has no legend).
 *
 * @param {Schema} s
 * @param {string} name
 * @param {string} path
 * @param {unknown} initial
 * @returns {FieldNode}
 */
function objectField(s, name, path, initial) {
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  const start = initial && typeof initial === "object"
    ? /** @type {Record<string, unknown>} */ (
      initial
    )
    : {};
  const children = Object.entries(s.properties ?? {}).map((
    [key, sub],
  ) => /** @type {[string, FieldNode]} */ ([
    key,
    field(/** @type {Schema} */ (sub), key, `${path}/${key}`, required.has(key), start[key]),
  ]));
  const error = h("p", { class: "field-error", role: "alert", hidden: true });
  const el = path === ""
    ? h("div", { class: "sf-object" }, ...children.map(([, c]) => c.el), error)
    : h(
      "fieldset",
      { class: "sf-object sf-nested", "data-path": path },
      h("legend", {}, labelOf(s, name)),
      ...children.map(([, c]) => c.el),
      error,
    );
  const self = {
    el,
    focusEl: children[0]?.[1].focusEl ?? el,
    showError: (/** @type {string | null} */ message) => fieldError(error, message),
    find: (/** @type {string} */ p) => {
      if (p === path) return self;
      for (const [, c] of children) {
        const hit = c.find(p);
        if (hit) return hit;
      }
      return undefined;
    },
    read() {
      /** @type {Record<string, unknown>} */
      const out = {};
      let ok = true;
      for (const [key, child] of children) {
        const got = child.read();
        if (!got.ok) ok = false;
        else if (got.present && got.value !== undefined) out[key] = got.value;
      }
      return ok ? { ok: true, value: out, present: true } : { ok: false };
    },
  };
  return /** @type {FieldNode} */ (self);
}

/**
 * Builds the form for `schema`. `submitLabel` names the send button.
 *
 * @param {Schema} schema
 * @param {{ submitLabel: string, onSubmit: (value: unknown) => void, initial?: unknown }} options
 */
export function schemaForm(schema, options) {
  const canDraw = drawable(schema) && typeOf(schema) === "object";
  const root = canDraw ? field(schema, "", "", true, options.initial) : null;
  const rawId = freshId("sf-raw");
  const rawError = h("p", {
    class: "field-error",
    id: `${rawId}-error`,
    role: "alert",
    hidden: true,
  });
  const raw = /** @type {HTMLTextAreaElement} */ (h("textarea", {
    id: rawId,
    class: "code",
    rows: "4",
    spellcheck: "false",
    "aria-describedby": `${rawId}-error`,
  }));
  raw.value = options.initial === undefined ? "" : prettyJson(options.initial);
  const rawBox = h(
    "div",
    { class: "sf-raw", hidden: canDraw },
    h("label", { for: rawId }, "Answer (JSON)"),
    raw,
    rawError,
  );
  const toggle =
    /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id: freshId("sf-json") }));
  toggle.addEventListener("change", () => {
    if (!root) return;
    if (toggle.checked) {
      const got = root.read();
      if (got.ok) raw.value = prettyJson(got.value);
      for (const c of root.el.querySelectorAll(".field-error")) {
        /** @type {HTMLElement} */ (c).hidden = true;
      }
    }
    root.el.hidden = toggle.checked;
    rawBox.hidden = !toggle.checked;
    (toggle.checked ? raw : root.focusEl).focus();
  });
  const usingRaw = () => !root || toggle.checked;
  const formError = h("p", { class: "field-error sf-summary", role: "alert", hidden: true });

  /** @returns {{ ok: true, value: unknown } | { ok: false }} */
  function read() {
    fieldError(formError, null);
    if (usingRaw()) {
      const parsed = parseJsonInput(raw.value);
      if (!parsed.ok) {
        fieldError(rawError, parsed.error, raw);
        raw.focus();
        return { ok: false };
      }
      fieldError(rawError, null, raw);
      return { ok: true, value: parsed.value };
    }
    const got = /** @type {FieldNode} */ (root).read();
    if (!got.ok) {
      const first = /** @type {HTMLElement | null} */ (
        root?.el.querySelector("[aria-invalid=true]")
      );
      first?.focus();
      return { ok: false };
    }
    return { ok: true, value: got.value };
  }

  const el = h(
    "form",
    {
      class: "reply schema-form",
      novalidate: true,
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        const got = read();
        if (got.ok) options.onSubmit(got.value);
      },
    },
    root?.el ?? null,
    rawBox,
    root
      ? h("label", { class: "inline sf-toggle", for: toggle.id }, toggle, " Edit as JSON")
      : h("p", { class: "hint" }, "This schema is answered as JSON."),
    formError,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, options.submitLabel),
    ),
  );
  return {
    el,
    read,
    /** Shows the server's issues on their fields (or above the button). @param {Issue[]} issues */
    showIssues(issues) {
      const loose = [];
      for (const issue of issues) {
        const target = !usingRaw() && root ? root.find(issue.pointer) : undefined;
        if (target && issue.pointer !== "") target.showError(issue.message);
        else loose.push(`${issue.pointer || "answer"}: ${issue.message}`);
      }
      fieldError(formError, loose.length > 0 ? loose.join("; ") : null);
      const first = /** @type {HTMLElement | null} */ (el.querySelector("[aria-invalid=true]"));
      first?.focus();
    },
  };
}
