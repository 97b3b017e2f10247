// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Pieces of the run detail: durations, the difference between two ctx values,
 * and the timeline bars (placed with CSSOM, which the strict CSP allows).
 *
 * @module
 */
import { h, shortJson } from "./dom.js";

/** A duration for people: "85 ms", "4.2 s", "3 min 5 s". @param {number} ms */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** @typedef {{ path: string, op: "added" | "removed" | "changed", before?: unknown, after?: unknown }} Change */

const isObject = (/** @type {unknown} */ v) =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const key = (/** @type {string} */ k) =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;

/**
 * What changed from `before` to `after`, object key by object key (arrays and
 * other values compare whole).
 *
 * @param {unknown} before
 * @param {unknown} after
 * @param {string} [path]
 * @returns {Change[]}
 */
export function ctxDiff(before, after, path = "$") {
  if (isObject(before) && isObject(after)) {
    const a = /** @type {Record<string, unknown>} */ (before);
    const b = /** @type {Record<string, unknown>} */ (after);
    /** @type {Change[]} */
    const out = [];
    for (const k of Object.keys(a)) {
      if (!(k in b)) out.push({ path: path + key(k), op: "removed", before: a[k] });
    }
    for (const k of Object.keys(b)) {
      if (!(k in a)) out.push({ path: path + key(k), op: "added", after: b[k] });
      else out.push(...ctxDiff(a[k], b[k], path + key(k)));
    }
    return out;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path, op: "changed", before, after }];
}

/** The diff as a list for people. @param {Change[]} changes */
export function diffList(changes) {
  if (changes.length === 0) return h("p", { class: "hint" }, "ctx did not change.");
  return h(
    "ul",
    { class: "diff" },
    ...changes.map((c) =>
      h(
        "li",
        { class: `diff-${c.op}` },
        h(
          "span",
          { class: "diff-mark", "aria-hidden": "true" },
          c.op === "added" ? "+" : c.op === "removed" ? "−" : "~",
        ),
        h("code", { class: "diff-path" }, c.path),
        h("span", { class: "sr-only" }, ` ${c.op}`),
        c.op === "changed"
          ? h(
            "span",
            {},
            " ",
            h("code", { class: "diff-old" }, shortJson(c.before, 80)),
            " → ",
            h("code", { class: "diff-new" }, shortJson(c.after, 80)),
          )
          : h(
            "span",
            {},
            " ",
            h(
              "code",
              { class: c.op === "added" ? "diff-new" : "diff-old" },
              shortJson(c.op === "added" ? c.after : c.before, 120),
            ),
          ),
      )
    ),
  );
}

/**
 * A bar placed on the run's time axis.
 *
 * @param {number} start epoch ms
 * @param {number} end epoch ms
 * @param {number} from the axis start
 * @param {number} to the axis end
 * @param {string} kind a class for its colour
 */
export function bar(start, end, from, to, kind) {
  const span = Math.max(1, to - from);
  const left = Math.min(100, Math.max(0, ((start - from) / span) * 100));
  const width = Math.max(0.8, Math.min(100 - left, ((end - start) / span) * 100));
  const fill = h("span", { class: `bar-fill bar-${kind}` });
  fill.style.left = `${left}%`;
  fill.style.width = `${width}%`;
  return h("span", { class: "bar", "aria-hidden": "true" }, fill);
}
