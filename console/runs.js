// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The runs panel: the recent runs (`GET /v1/runs`), one run's details and live
 * events (see run_events.js), and cancelling a run.
 *
 * @module
 */
import { ApiError, call } from "./api.js";
import { announce, byId, clock, fieldError, h, prettyJson } from "./dom.js";

import { describeEvent, eventItem, openRunEvents } from "./run_events.js";

const POLL_MS = 10000;

/** @typedef {{ run_id: string, status: string, created_at: string, finished_at?: string,
 *   final_ctx?: unknown, error?: string, steps: Array<Record<string, unknown>>,
 *   bound_version: string | null, effective_ttl_secs: number }} RunView */

export function createRunsPanel() {
  const list = byId("run-list");
  const empty = byId("runs-empty");
  const listError = byId("runs-error");
  const detail = byId("run-detail");
  const summary = byId("run-summary");
  const events = byId("run-events");
  const streamState = byId("run-stream");
  const cancelButton = /** @type {HTMLButtonElement} */ (byId("run-cancel"));
  /** @type {string | null} */
  let selected = null;
  /** @type {(() => void) | null} */
  let stopStream = null;
  let lastEventId = 0;
  let shownStatus = "";
  /** @type {Map<string, HTMLElement>} */
  const items = new Map();

  async function refresh() {
    try {
      const { runs } = /** @type {{ runs: RunView[] }} */ (await call("GET", "/v1/runs?limit=25"));
      fieldError(listError, null);
      syncList(runs);
      empty.hidden = runs.length > 0;
      // The list has no steps: reload the open run when its status moved on.
      const shown = runs.find((r) => r.run_id === selected);
      if (shown && shown.status !== shownStatus) loadSummary(shown.run_id);
    } catch (err) {
      const hint = err instanceof ApiError && err.status === 401
        ? " Set the server API token below."
        : "";
      fieldError(
        listError,
        `Runs could not be loaded: ${/** @type {Error} */ (err).message}.${hint}`,
      );
    }
  }

  /**
   * Updates the list in place (newest first), so a focused item keeps its focus.
   * @param {RunView[]} runs
   */
  function syncList(runs) {
    let cursor = list.firstElementChild;
    for (const run of runs) {
      let item = items.get(run.run_id);
      if (item) {
        const badge = /** @type {HTMLElement} */ (item.querySelector(".badge"));
        badge.className = `badge status-${run.status}`;
        badge.textContent = run.status;
      } else {
        item = runItem(run);
        items.set(run.run_id, item);
      }
      if (item === cursor) cursor = cursor.nextElementSibling;
      else list.insertBefore(item, cursor);
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      const id = /** @type {HTMLElement | null} */ (cursor.querySelector(".run-item"))?.dataset
        .runId;
      if (id) items.delete(id);
      cursor.remove();
      cursor = next;
    }
  }

  /** @param {RunView} run */
  function runItem(run) {
    const current = run.run_id === selected;
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: `run-item${current ? " current" : ""}`,
          "aria-current": current ? "true" : false,
          "data-run-id": run.run_id,
          onclick: () => select(run.run_id),
        },
        h("span", { class: `badge status-${run.status}` }, run.status),
        h("code", { class: "run-id" }, run.run_id),
        h("time", { class: "when" }, clock(run.created_at)),
      ),
    );
  }

  /** @param {RunView} run */
  function showSummary(run) {
    /** @type {Array<[string, Node | string]>} */
    const rows = [
      ["Status", h("span", { class: `badge status-${run.status}` }, run.status)],
      ["Started", new Date(run.created_at).toLocaleString()],
      ["TTL", `${run.effective_ttl_secs} s`],
      [
        "Steps",
        run.steps.map((s) => `${s.agent} #${s.attempt}: ${s.verdict}`).join(", ") || "none",
      ],
    ];
    if (run.finished_at) {
      rows.splice(2, 0, ["Finished", new Date(run.finished_at).toLocaleString()]);
    }
    if (run.error) rows.push(["Error", h("span", { class: "error-text" }, run.error)]);
    if (run.final_ctx !== undefined) {
      rows.push([
        "final_ctx",
        h("pre", { class: "json" }, prettyJson(run.final_ctx)),
      ]);
    }
    summary.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    cancelButton.hidden = run.status !== "running";
    shownStatus = run.status;
  }

  /** @param {string} runId */
  async function loadSummary(runId) {
    try {
      const run =
        /** @type {RunView} */ (await call("GET", `/v1/runs/${encodeURIComponent(runId)}`));
      if (selected === runId) showSummary(run);
    } catch (err) {
      summary.replaceChildren(h("dd", { class: "error-text" }, /** @type {Error} */ (err).message));
    }
  }

  /** @param {{ id: number, type: string, at: string, data: unknown }} event */
  function addEvent(event) {
    if (event.id <= lastEventId) return; // a stream reconnect replays what we have
    lastEventId = event.id;
    events.append(eventItem(event));
    events.scrollTop = events.scrollHeight;
    if (event.type === "step_finished" || event.type.startsWith("operator_request")) {
      loadSummary(/** @type {string} */ (selected));
    }
  }

  /** @param {string} runId */
  function follow(runId) {
    stopStream?.();
    events.replaceChildren();
    lastEventId = 0;
    streamState.textContent = "(connecting…)";
    const ended = () => {
      stopStream?.();
      stopStream = null;
      streamState.textContent = "(run ended)";
      loadSummary(runId);
      refresh();
    };
    stopStream = openRunEvents(runId, {
      onEvent(event) {
        const fresh = event.id > lastEventId;
        addEvent(event);
        if (event.type !== "run_ended") return;
        // Announce only an end seen live, not one replayed when a finished run is opened.
        if (fresh && shownStatus === "running") {
          announce(`Run ${runId} ended: ${describeEvent(event.type, event.data)}.`);
        }
        ended();
      },
      onState: (text) => (streamState.textContent = text),
    });
  }

  /** @param {string} runId */
  function select(runId) {
    selected = runId;
    shownStatus = "";
    detail.hidden = false;
    byId("run-detail-h").textContent = `Run ${runId}`;
    for (const b of list.querySelectorAll(".run-item")) {
      const current = /** @type {HTMLElement} */ (b).dataset.runId === runId;
      b.classList.toggle("current", current);
      if (current) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
    loadSummary(runId);
    follow(runId);
  }

  byId("runs-refresh").addEventListener("click", refresh);
  byId("run-close").addEventListener("click", () => {
    stopStream?.();
    stopStream = null;
    selected = null;
    detail.hidden = true;
    refresh();
  });
  cancelButton.addEventListener("click", async () => {
    if (!selected) return;
    try {
      await call("DELETE", `/v1/runs/${encodeURIComponent(selected)}`);
      announce("Run cancelled.");
    } catch (err) {
      announce(`Cancel failed: ${/** @type {Error} */ (err).message}`);
    }
    loadSummary(selected);
  });
  setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, POLL_MS);
  refresh();
  return { refresh, select };
}
