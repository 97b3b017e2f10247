// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The runs panel: the run history (`GET /v1/runs` with status and Blueprint
 * filters, id search and pages), kept live by the run feed (SSE, no polling),
 * and one run's detail (run_detail.js).
 *
 * @module
 */
import { ApiError, apiToken, call } from "./api.js";
import { announce, byId, clock, fieldError, h } from "./dom.js";
import { createRunDetail } from "./run_detail.js";
import { readEventStream } from "./sse.js";
import { duration } from "./timeline.js";

const PAGE = 20;

/** @typedef {import("./run_detail.js").RunView} RunView */

/** A run's duration so far, or in all. @param {RunView} run */
function runDuration(run) {
  const end = run.finished_at ? Date.parse(run.finished_at) : Date.now();
  return duration(end - Date.parse(run.created_at));
}

export function createRunsPanel() {
  const list = byId("run-list");
  const empty = byId("runs-empty");
  const listError = byId("runs-error");
  const status = /** @type {HTMLSelectElement} */ (byId("runs-status"));
  const blueprint = /** @type {HTMLSelectElement} */ (byId("runs-blueprint"));
  const search = /** @type {HTMLInputElement} */ (byId("runs-search"));
  const older = /** @type {HTMLButtonElement} */ (byId("runs-older"));
  const newer = /** @type {HTMLButtonElement} */ (byId("runs-newer"));
  const pageInfo = byId("runs-page");
  const live = byId("runs-live");
  /** Cursors of the pages before this one ("" is the first page). */
  const cursors = [""];
  /** @type {string | undefined} */
  let next;
  /** @type {number | undefined} matching runs, when the server counted them */
  let total;
  /** @type {Map<string, { item: HTMLElement, run: RunView }>} */
  const items = new Map();
  const detail = createRunDetail({
    onChanged: (run) => update(run),
    started: (runId) => {
      announce(`Run ${runId} started again.`);
      select(runId);
    },
  });

  const query = () => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (status.value) params.set("status", status.value);
    if (blueprint.value) params.set("blueprint", blueprint.value);
    if (search.value.trim()) params.set("q", search.value.trim());
    const cursor = cursors.at(-1);
    if (cursor) params.set("before", cursor);
    return params;
  };
  /** Whether a run belongs on the first page under the filters. @param {RunView} run */
  const matches = (run) =>
    (!status.value || run.status === status.value) &&
    (!blueprint.value || run.blueprint_id === blueprint.value) &&
    (!search.value.trim() || run.run_id.includes(search.value.trim()));

  async function refresh() {
    try {
      const page = /** @type {{ runs: RunView[], total?: number, next_before?: string }} */ (
        await call("GET", `/v1/runs?${query()}`)
      );
      fieldError(listError, null);
      next = page.next_before;
      total = page.total;
      render(page.runs);
      older.disabled = !next;
      newer.disabled = cursors.length <= 1;
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

  /** The list as given, reusing rows so a focused row keeps its focus. @param {RunView[]} runs */
  function render(runs) {
    const keep = new Set(runs.map((r) => r.run_id));
    for (const [id, { item }] of items) {
      if (!keep.has(id)) {
        item.remove();
        items.delete(id);
      }
    }
    let cursor = list.firstElementChild;
    for (const run of runs) {
      const item = row(run);
      if (item === cursor) cursor = cursor.nextElementSibling;
      else list.insertBefore(item, cursor);
    }
    empty.hidden = runs.length > 0;
    counts();
  }

  /** "21–40 of 60", or how many newest runs are shown. */
  function counts() {
    const shown = list.childElementCount;
    const from = (cursors.length - 1) * PAGE;
    pageInfo.textContent = total === undefined
      ? `newest ${shown}`
      : shown === 0
      ? `0 of ${total}`
      : `${from + 1}–${from + shown} of ${total}`;
  }

  /** The row of a run, created or updated. @param {RunView} run */
  function row(run) {
    const known = items.get(run.run_id);
    const current = run.run_id === detail.selected();
    const cells = [
      h("span", { class: `badge status-${run.status}` }, run.status),
      h("code", { class: "run-id" }, run.run_id),
      h("span", { class: "run-bp" }, run.blueprint_id ?? ""),
      h("time", {
        class: "when",
        datetime: run.created_at,
        title: new Date(run.created_at).toLocaleString(),
      }, clock(run.created_at)),
      h("span", { class: "run-dur" }, runDuration(run)),
    ];
    if (known) {
      known.run = run;
      const button = /** @type {HTMLElement} */ (known.item.firstElementChild);
      button.replaceChildren(...cells);
      return known.item;
    }
    const item = h(
      "li",
      {},
      h("button", {
        type: "button",
        class: `run-item${current ? " current" : ""}`,
        "aria-current": current ? "true" : false,
        "data-run-id": run.run_id,
        "data-status": run.status,
        onclick: () => select(run.run_id),
      }, ...cells),
    );
    items.set(run.run_id, { item, run });
    return item;
  }

  /** A run changed (feed or detail): update its row, or add it on the first page. @param {RunView} run */
  function update(run) {
    const known = items.get(run.run_id);
    if (known) {
      row(run);
      /** @type {HTMLElement} */ (known.item.firstElementChild).dataset.status = run.status;
      if (!matches(run)) refresh();
      return;
    }
    if (cursors.length > 1 || !matches(run)) return;
    const item = row(run);
    list.prepend(item);
    empty.hidden = true;
    if (total !== undefined) total += 1;
    while (list.childElementCount > PAGE) {
      const last = /** @type {HTMLElement} */ (list.lastElementChild);
      const id = /** @type {HTMLElement} */ (last.firstElementChild).dataset.runId ?? "";
      items.delete(id);
      last.remove();
      // the page's last row is the cursor of the next one now
      const end = /** @type {HTMLElement} */ (list.lastElementChild?.firstElementChild);
      next = end?.dataset.runId;
      older.disabled = !next;
    }
    counts();
  }

  /** @param {string} runId */
  function select(runId) {
    for (const b of list.querySelectorAll(".run-item")) {
      const current = /** @type {HTMLElement} */ (b).dataset.runId === runId;
      b.classList.toggle("current", current);
      if (current) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
    detail.open(runId);
  }

  /** Follows the run feed; reconnects, and reloads the list after a gap. */
  function follow() {
    const onEvent = (/** @type {string} */ _type, /** @type {string} */ data) => {
      try {
        const event = JSON.parse(data);
        update(event.run);
        if (event.run.run_id === detail.selected()) detail.reload();
      } catch {
        // a damaged event is skipped
      }
    };
    const token = apiToken();
    if (token) {
      return readEventStream("/v1/runs/feed", token, {
        onEvent,
        onState: (text) => {
          live.textContent = text === "(live)" ? "live" : text.replace(/[()]/g, "");
          if (text === "(live)") refresh();
        },
      });
    }
    const source = new EventSource("/v1/runs/feed");
    source.onopen = () => {
      live.textContent = "live";
      refresh(); // anything that happened while the feed was down
    };
    source.onerror = () => (live.textContent = "reconnecting…");
    for (const type of ["run_started", "run_ended"]) {
      source.addEventListener(type, (e) => onEvent(type, /** @type {MessageEvent} */ (e).data));
    }
    return () => source.close();
  }

  async function loadBlueprints() {
    try {
      const { blueprints } = /** @type {{ blueprints: Array<{ id: string }> }} */ (
        await call("GET", "/v1/blueprints")
      );
      const chosen = blueprint.value;
      blueprint.replaceChildren(
        h("option", { value: "" }, "all Blueprints"),
        ...blueprints.map((b) => h("option", { value: b.id, selected: b.id === chosen }, b.id)),
      );
    } catch {
      // the filter keeps "all"; the list shows its own error
    }
  }

  const restart = () => {
    cursors.length = 1;
    refresh();
  };
  status.addEventListener("change", restart);
  blueprint.addEventListener("change", restart);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typed;
  search.addEventListener("input", () => {
    clearTimeout(typed);
    typed = setTimeout(restart, 250);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      clearTimeout(typed);
      restart();
    }
  });
  older.addEventListener("click", () => {
    if (!next) return;
    cursors.push(next);
    refresh();
  });
  newer.addEventListener("click", () => {
    if (cursors.length > 1) cursors.pop();
    refresh();
  });
  let stopFeed = follow();
  void refresh();
  // durations of running rows move on
  setInterval(() => {
    for (const { run } of items.values()) if (run.status === "running") row(run);
  }, 1000);
  void loadBlueprints();

  return {
    refresh() {
      stopFeed();
      stopFeed = follow();
      void loadBlueprints();
      return refresh();
    },
    select,
    /** A request arrived: its run is shown soon by the feed; the open run reloads. */
    soon() {
      if (detail.selected()) detail.reload();
    },
    focusSearch() {
      search.focus();
      search.select();
    },
  };
}
