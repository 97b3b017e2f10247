// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * A run's live events: the stream (`EventSource` on `/v1/runs/:id/events`, or a
 * fetch reader when an API token must be sent) and how each event reads.
 *
 * @module
 */
import { apiToken } from "./api.js";
import { clock, h, prettyJson, shortJson } from "./dom.js";
import { readEventStream } from "./sse.js";

/** The event types of the stream (named SSE events). */
export const EVENT_TYPES = [
  "run_started",
  "run_resumed",
  "step_started",
  "step_finished",
  "operator_request_sent",
  "operator_request_settled",
  "operator_request_cancelled",
  "run_ended",
];

/** @typedef {{ id: number, type: string, at: string, data: unknown }} RunEvent */

/**
 * Follows a run's events from the start. Returns a function that stops.
 *
 * @param {string} runId
 * @param {{ onEvent: (event: RunEvent) => void, onState: (text: string) => void }} handlers
 * @returns {() => void}
 */
export function openRunEvents(runId, handlers) {
  const url = `/v1/runs/${encodeURIComponent(runId)}/events`;
  /** @param {string} type @param {string} data */
  const onEvent = (type, data) => {
    let event;
    try {
      event = { ...JSON.parse(data), type };
    } catch {
      return;
    }
    handlers.onEvent(event);
  };
  const token = apiToken();
  if (token) {
    // EventSource cannot send headers; with an API token, read the stream by fetch.
    return readEventStream(url, token, { onEvent, onState: handlers.onState });
  }
  const source = new EventSource(url);
  source.onopen = () => handlers.onState("(live)");
  source.onerror = () => {
    handlers.onState(
      source.readyState === EventSource.CLOSED ? "(stream closed)" : "(reconnecting…)",
    );
  };
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (e) => onEvent(type, /** @type {MessageEvent} */ (e).data));
  }
  return () => source.close();
}

/** One event as a list item: a line for people, the JSON behind it. @param {RunEvent} event */
export function eventItem(event) {
  const d = /** @type {Record<string, unknown> | null} */ (event.data);
  const bad = event.type === "run_ended" && d?.status !== "succeeded";
  return h(
    "li",
    { class: `ev ev-${event.type}${bad ? " ev-bad" : ""}` },
    h(
      "details",
      {},
      h(
        "summary",
        {},
        h("time", { class: "when" }, clock(event.at)),
        h("span", { class: "ev-type" }, event.type.replaceAll("_", " ")),
        h("span", { class: "ev-text" }, describeEvent(event.type, event.data)),
      ),
      h("pre", { class: "json" }, prettyJson(event.data)),
    ),
  );
}

const REQUEST_NAMES = {
  ask: "question",
  hb: "spawn approval",
  hook_before: "spawn approval",
  spawn: "spawn",
};

/**
 * One line about a run event, for people; the JSON sits behind it.
 *
 * @param {string} type
 * @param {unknown} data
 */
export function describeEvent(type, data) {
  const d = /** @type {Record<string, unknown>} */ (data && typeof data === "object" ? data : {});
  const error = typeof d.error === "string" ? `: ${d.error}` : "";
  switch (type) {
    case "run_started":
      return `TTL ${d.effective_ttl_secs} s (${d.ttl_source})`;
    case "run_resumed":
      return `after a restart, ${d.steps_done} step(s) already done`;
    case "step_started":
      return `${d.agent} #${d.attempt}`;
    case "step_finished":
      return `${d.agent} #${d.attempt}: ${d.verdict}${error}`;
    case "operator_request_sent":
    case "operator_request_settled":
    case "operator_request_cancelled": {
      const kind = REQUEST_NAMES[/** @type {keyof REQUEST_NAMES} */ (d.kind)] ?? d.kind;
      const by = /** @type {{ sid?: string, roles?: string[] } | undefined} */ (d.by);
      if (type === "operator_request_settled" && by) {
        const who = by.roles?.[0] ?? by.sid;
        return `${kind} answered by ${who}${
          d.value === undefined ? "" : `: ${shortJson(d.value, 80)}`
        }`;
      }
      if (type === "operator_request_sent" && d.question !== undefined) {
        return `${kind}: ${
          typeof d.question === "string" ? d.question : shortJson(d.question, 80)
        }`;
      }
      return `${kind} for task ${d.task_id}`;
    }
    case "run_ended":
      return `${d.status}${error}`;
    default:
      return shortJson(data);
  }
}
