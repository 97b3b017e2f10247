// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * What a request card shows about where it comes from: the run, the Blueprint,
 * the step and its input (the request's `context`), and how long it has waited.
 *
 * @module
 */
import { h, prettyJson } from "./dom.js";

/** A short form of a hex version. @param {unknown} v */
function shortVersion(v) {
  return typeof v === "string" && /^[0-9a-f]{64}$/.test(v) ? v.slice(0, 8) : String(v ?? "");
}

/** Seconds as "12 s", "3 min 5 s", "2 h 4 min". @param {number} secs */
export function age(secs) {
  const s = Math.max(0, Math.floor(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * The context block of a request card (nothing when the frame has none).
 *
 * @param {Record<string, unknown>} frame
 * @param {{ openRun?: (runId: string) => void }} options
 */
export function contextBlock(frame, options = {}) {
  const c = /** @type {Record<string, unknown> | undefined} */ (frame.context);
  if (!c || typeof c !== "object") return null;
  const runId = String(c.run_id ?? "");
  const run = options.openRun && runId
    ? h("button", {
      type: "button",
      class: "link",
      "data-open-run": runId,
      onclick: () => options.openRun?.(runId),
    }, runId)
    : h("code", {}, runId);
  /** @type {Array<[string, Node | string]>} */
  const rows = [
    ["Run", run],
    [
      "Blueprint",
      h(
        "span",
        {},
        h("code", {}, String(c.blueprint_id ?? "")),
        c.blueprint_version
          ? h("span", { class: "hint" }, ` @ ${shortVersion(c.blueprint_version)}`)
          : "",
      ),
    ],
  ];
  if (c.agent) rows.push(["Step", `${c.agent}${c.attempt ? ` #${c.attempt}` : ""}`]);
  else if (c.step && c.step !== "/") rows.push(["Step", h("code", {}, String(c.step))]);
  const dl = h(
    "dl",
    { class: "ctx" },
    ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
  if (c.input === undefined) return dl;
  const input = typeof c.input === "string" ? c.input : prettyJson(c.input);
  return h(
    "div",
    { class: "ctx-box" },
    dl,
    h(
      "details",
      { class: "ctx-input", open: input.length <= 600 },
      h("summary", {}, "Step input", c.input_truncated ? " (cut at 64 KiB)" : ""),
      h("pre", { class: "json" }, input),
    ),
  );
}
