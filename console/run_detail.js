// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * One run in detail: its summary, a timeline of steps and operator requests with
 * durations (each step with its input, output and the ctx diff after it; each
 * request with who answered), `init_ctx` and `final_ctx`, and the event log.
 * Live through the run's event stream; re-run and cancel.
 *
 * @module
 */
import { call } from "./api.js";
import { announce, byId, h, prettyJson, shortJson } from "./dom.js";
import { describeEvent, eventItem, openRunEvents } from "./run_events.js";
import { bar, ctxDiff, diffList, duration } from "./timeline.js";

/**
 * @typedef {{ run_id: string, status: string, blueprint_id?: string, created_at: string,
 *   finished_at?: string, init_ctx?: unknown, final_ctx?: unknown, error?: string,
 *   steps: Array<Record<string, any>>, requests?: Array<Record<string, any>>,
 *   bound_version: string | null, effective_ttl_secs: number }} RunView
 */
/**
 * @typedef {{ task_id: string, key?: string, agent: string, attempt: number, verdict: string,
 *   started_at: string, finished_at?: string, duration_ms?: number, input?: string,
 *   output?: unknown, ok?: boolean, error?: string, ctx_after?: unknown,
 *   ctx_after_bytes?: number }} TraceStep
 */
/** @typedef {import("./run_events.js").RunEvent} RunEvent */

const KIND = { ask: "Question", hook_before: "Spawn approval", spawn: "Spawn" };

/** @param {{ onChanged: (run: RunView) => void, started: (runId: string) => void }} options */
export function createRunDetail(options) {
  const detail = byId("run-detail");
  const summary = byId("run-summary");
  const timeline = byId("run-timeline");
  const ctxBox = byId("run-ctx");
  const events = byId("run-events");
  const streamState = byId("run-stream");
  const cancelButton = /** @type {HTMLButtonElement} */ (byId("run-cancel"));
  const rerunButton = /** @type {HTMLButtonElement} */ (byId("run-rerun"));
  /** @type {string | null} */
  let selected = null;
  /** @type {(() => void) | null} */
  let stopStream = null;
  /** @type {RunEvent[]} */
  let log = [];
  /** @type {RunView | null} */
  let view = null;
  /** @type {TraceStep[]} */
  let trace = [];
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let soon;
  /** Step rows the person opened, kept open across reloads. */
  const opened = new Set();

  /** @param {string} runId */
  async function load(runId) {
    try {
      const [v, t] = await Promise.all([
        call("GET", `/v1/runs/${encodeURIComponent(runId)}`),
        call("GET", `/v1/runs/${encodeURIComponent(runId)}/trace`).catch(() => ({ steps: [] })),
      ]);
      if (selected !== runId) return;
      view = /** @type {RunView} */ (v);
      trace = /** @type {{ steps: TraceStep[] }} */ (t).steps;
      render();
      options.onChanged(view);
    } catch (err) {
      if (selected !== runId) return;
      summary.replaceChildren(h("dd", { class: "error-text" }, /** @type {Error} */ (err).message));
    }
  }

  function reload() {
    clearTimeout(soon);
    const runId = selected;
    if (runId) soon = setTimeout(() => load(runId), 120);
  }

  function render() {
    if (!view) return;
    const run = view;
    const started = Date.parse(run.created_at);
    const ended = run.finished_at ? Date.parse(run.finished_at) : Date.now();
    /** @type {Array<[string, Node | string]>} */
    const rows = [
      ["Status", h("span", { class: `badge status-${run.status}` }, run.status)],
      [
        "Blueprint",
        h(
          "span",
          {},
          h("code", {}, run.blueprint_id ?? "?"),
          run.bound_version
            ? h("span", { class: "hint" }, ` @ ${run.bound_version.slice(0, 8)}`)
            : "",
        ),
      ],
      ["Started", new Date(run.created_at).toLocaleString()],
    ];
    if (run.finished_at) rows.push(["Finished", new Date(run.finished_at).toLocaleString()]);
    rows.push([run.finished_at ? "Took" : "Running for", duration(ended - started)]);
    rows.push(["TTL", `${run.effective_ttl_secs} s`]);
    rows.push([
      "Steps",
      run.steps.map((s) => `${s.agent} #${s.attempt}: ${s.verdict}`).join(", ") || "none",
    ]);
    if (run.error) rows.push(["Error", h("span", { class: "error-text" }, run.error)]);
    summary.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    cancelButton.hidden = run.status !== "running";
    rerunButton.hidden = false;
    renderTimeline(started, ended);
    renderCtx(run);
  }

  /** @param {number} from @param {number} to */
  function renderTimeline(from, to) {
    /** @type {Array<{ at: number, el: HTMLElement }>} */
    const rows = [];
    let ctx = view?.init_ctx;
    for (const step of trace) {
      const start = Date.parse(step.started_at);
      const end = step.finished_at ? Date.parse(step.finished_at) : Date.now();
      const id = `${step.task_id}#${step.attempt}`;
      const diff = step.ctx_after !== undefined
        ? diffList(ctxDiff(ctx, step.ctx_after))
        : step.ctx_after_bytes
        ? h(
          "p",
          { class: "hint" },
          `ctx after this step: ${step.ctx_after_bytes} bytes, too large to show.`,
        )
        : h(
          "p",
          { class: "hint" },
          step.verdict === "running"
            ? "Still running."
            : "No ctx recorded for this step (inside a fanout or loop branch, or before this server kept it).",
        );
      if (step.ctx_after !== undefined) ctx = step.ctx_after;
      const box = h(
        "details",
        {
          class: `tl-row tl-step verdict-${step.verdict}`,
          "data-task": step.task_id,
          open: opened.has(id),
        },
        h(
          "summary",
          {},
          h(
            "span",
            { class: "tl-label" },
            h("span", { class: "tl-kind" }, "Step "),
            `${step.agent} #${step.attempt}`,
          ),
          bar(start, end, from, to, "step"),
          h("span", { class: "tl-dur" }, duration(end - start)),
          h("span", { class: `tl-verdict verdict-${step.verdict}` }, step.verdict),
        ),
        h(
          "div",
          { class: "tl-body" },
          step.error ? h("p", { class: "error-text" }, step.error) : "",
          h("h5", {}, "Input"),
          h("pre", { class: "json" }, step.input ?? "(not recorded)"),
          h("h5", {}, "Output", step.ok === false ? " (not ok)" : ""),
          h(
            "pre",
            { class: "json" },
            step.output === undefined ? "(none yet)" : prettyJson(step.output),
          ),
          h("h5", {}, "ctx after this step"),
          diff,
        ),
      );
      box.addEventListener("toggle", () => {
        if (/** @type {HTMLDetailsElement} */ (box).open) opened.add(id);
        else opened.delete(id);
      });
      rows.push({ at: start, el: h("li", {}, box) });
    }
    const agents = new Map(trace.map((t) => [t.task_id, t.agent]));
    for (const r of requests()) {
      r.agent ??= agents.get(r.task_id);
      const start = r.sent;
      const end = r.at ?? Date.now();
      const by = r.by
        ? `${r.by.sid}${r.by.roles?.length ? ` (${r.by.roles.join(", ")})` : ""}${
          r.by.client ? ` via ${r.by.client}` : ""
        }`
        : "";
      const box = h(
        "details",
        { class: `tl-row tl-req req-${r.state}`, "data-req": r.req_id, open: opened.has(r.req_id) },
        h(
          "summary",
          {},
          h(
            "span",
            { class: "tl-label" },
            h(
              "span",
              { class: "tl-kind" },
              `${KIND[/** @type {keyof KIND} */ (r.kind)] ?? r.kind} `,
            ),
            r.agent ?? "",
          ),
          bar(start, end, from, to, r.kind),
          h("span", { class: "tl-dur" }, duration(end - start)),
          h("span", { class: "tl-verdict" }, r.state),
        ),
        h(
          "dl",
          { class: "tl-body audit" },
          h("dt", {}, "Request"),
          h("dd", {}, h("code", {}, r.req_id)),
          h("dt", {}, "Sent to"),
          h("dd", {}, h("code", {}, r.sid)),
          ...(r.question !== undefined
            ? [
              h("dt", {}, "Asked"),
              h("dd", {}, h("pre", { class: "json" }, prettyJson(r.question))),
            ]
            : []),
          ...(by ? [h("dt", {}, "Answered by"), h("dd", { class: "audit-by" }, by)] : []),
          ...(r.value !== undefined
            ? [h("dt", {}, "Answer"), h("dd", {}, h("pre", { class: "json" }, prettyJson(r.value)))]
            : []),
          ...(r.ok !== undefined ? [h("dt", {}, "ok"), h("dd", {}, String(r.ok))] : []),
          ...(r.edits !== undefined
            ? [h("dt", {}, "Edits"), h("dd", {}, h("pre", { class: "json" }, prettyJson(r.edits)))]
            : []),
          ...(r.reason ? [h("dt", {}, "Why withdrawn"), h("dd", {}, r.reason)] : []),
        ),
      );
      box.addEventListener("toggle", () => {
        if (/** @type {HTMLDetailsElement} */ (box).open) opened.add(r.req_id);
        else opened.delete(r.req_id);
      });
      rows.push({ at: start, el: h("li", {}, box) });
    }
    rows.sort((a, b) => a.at - b.at);
    timeline.replaceChildren(...rows.map((r) => r.el));
    if (rows.length === 0) {
      timeline.replaceChildren(h("li", { class: "hint" }, "Nothing has happened yet."));
    }
  }

  /**
   * The run's operator requests: the audit of `GET /v1/runs/:id` when the server
   * gives it, else paired from the event log.
   * @returns {Array<Record<string, any>>}
   */
  function requests() {
    if (view?.requests) {
      return view.requests.map((r) => ({
        ...r,
        sent: Date.parse(r.sent_at),
        at: r.at ? Date.parse(r.at) : undefined,
        agent: r.context?.agent,
      }));
    }
    /** @type {Map<string, Record<string, any>>} */
    const byId = new Map();
    for (const e of log) {
      const d = /** @type {Record<string, any>} */ (e.data);
      if (!e.type.startsWith("operator_request_") || !d?.req_id) continue;
      if (e.type === "operator_request_sent") {
        byId.set(d.req_id, { ...d, sent: Date.parse(e.at), state: "pending" });
      } else {
        const r = byId.get(d.req_id);
        if (!r) continue;
        r.at = Date.parse(e.at);
        r.state = e.type === "operator_request_settled" ? "settled" : "cancelled";
      }
    }
    return [...byId.values()];
  }

  /** @param {RunView} run */
  function renderCtx(run) {
    ctxBox.replaceChildren(
      h(
        "details",
        { class: "ctx-doc", open: true },
        h("summary", {}, "init_ctx"),
        h("pre", { class: "json" }, prettyJson(run.init_ctx ?? null)),
      ),
      run.final_ctx === undefined
        ? h(
          "p",
          { class: "hint" },
          run.status === "running"
            ? "final_ctx comes when the run ends."
            : "No final_ctx: the run did not succeed.",
        )
        : h(
          "details",
          { class: "ctx-doc", open: true },
          h("summary", {}, "final_ctx"),
          h("pre", { class: "json final-ctx" }, prettyJson(run.final_ctx)),
        ),
    );
  }

  /** @param {RunEvent} event */
  function addEvent(event) {
    if (log.length > 0 && event.id <= /** @type {RunEvent} */ (log.at(-1)).id) return; // a replay
    log.push(event);
    events.append(eventItem(event));
    if (event.type !== "run_started") reload();
  }

  /** @param {string} runId */
  function follow(runId) {
    stopStream?.();
    events.replaceChildren();
    log = [];
    streamState.textContent = "(connecting…)";
    stopStream = openRunEvents(runId, {
      onEvent(event) {
        const fresh = log.length === 0 || event.id > /** @type {RunEvent} */ (log.at(-1)).id;
        addEvent(event);
        if (event.type !== "run_ended") return;
        if (fresh && view?.status === "running") {
          announce(`Run ${runId} ended: ${describeEvent(event.type, event.data)}.`);
        }
        stopStream?.();
        stopStream = null;
        streamState.textContent = "(run ended)";
      },
      onState: (text) => (streamState.textContent = text),
    });
  }

  /** @param {string} runId */
  function open(runId) {
    selected = runId;
    view = null;
    trace = [];
    opened.clear();
    detail.hidden = false;
    byId("run-detail-h").textContent = `Run ${runId}`;
    timeline.replaceChildren();
    ctxBox.replaceChildren();
    void load(runId);
    follow(runId);
  }

  byId("run-close").addEventListener("click", () => {
    stopStream?.();
    stopStream = null;
    selected = null;
    detail.hidden = true;
  });
  cancelButton.addEventListener("click", async () => {
    if (!selected) return;
    try {
      await call("DELETE", `/v1/runs/${encodeURIComponent(selected)}`);
      announce("Run cancelled.");
    } catch (err) {
      announce(`Cancel failed: ${/** @type {Error} */ (err).message}`);
    }
    reload();
  });
  rerunButton.addEventListener("click", async () => {
    if (!selected) return;
    try {
      const { run_id } = /** @type {{ run_id: string }} */ (
        await call("POST", `/v1/runs/${encodeURIComponent(selected)}/rerun`)
      );
      options.started(run_id);
    } catch (err) {
      announce(`Re-run failed: ${/** @type {Error} */ (err).message}`);
      summary.append(
        h("dt", {}, "Re-run"),
        h("dd", { class: "error-text" }, /** @type {Error} */ (err).message),
      );
    }
  });
  // a running run's bars and durations move on
  setInterval(() => {
    if (view?.status !== "running" || document.visibilityState !== "visible") return;
    if (detail.contains(document.activeElement) && document.activeElement !== document.body) return;
    render();
  }, 1000);

  return {
    open,
    reload,
    selected: () => selected,
    /** The short text of the open run's status (tests and announcements). */
    status: () => view?.status ?? "",
    shortCtx: () => shortJson(view?.final_ctx),
  };
}
