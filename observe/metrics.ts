/**
 * A small Prometheus registry: labelled counters, histograms, gauges read at
 * scrape time and the process families. Renders the text exposition format 0.0.4.
 *
 * @module
 */
import { SWITCHBOARD_VERSION } from "./build_info.ts";
import { createHistogram, labelKey, type Labels, series } from "./histogram.ts";
import { createLagHistogram, renderProcessMetrics } from "./process_metrics.ts";

const ROUNDTRIP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];
/** HTTP latency buckets: the usual ones, plus long `/v1/tasks` waits. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Gauge values read at scrape time. */
export interface GaugeSource {
  sessions(): Array<{ labels: Labels; value: number }>;
  pending(): Array<{ labels: Labels; value: number }>;
  /** Runs executing now. */
  runsInProgress?(): number;
  /** Event streams (SSE) open now. */
  eventStreams?(): number;
  /** `switchboard_kv_file_bytes{kind}`: a KV file's bytes used, on disk, and its bound. */
  storeBytes?(): Array<{ labels: Labels; value: number }>;
  /** `switchboard_oldest_pending_seconds{role}`: the age of the oldest pending request. */
  oldestPending?(): Array<{ labels: Labels; value: number }>;
}

/** How one HTTP answer went, for the latency histogram. */
export interface HttpTiming {
  method: string;
  seconds: number;
}

/** The metrics of one server. */
export interface Metrics {
  /** Counts one HTTP answer, labelled by route pattern (never by raw path), and times it. */
  httpRequest(route: string, status: number, timing?: HttpTiming): void;
  /** Counts a run reaching a final status. */
  runEnded(status: string): void;
  /** Counts a `hook_after` dropped because no socket was live. */
  hookAfterDropped(): void;
  /** Counts an operator socket closed 1008: over its frame rate, or not reading its frames. */
  socketPolicyClosed(reason: SocketPolicyReason): void;
  /** Observes an operator round trip (sent → settled), by request kind. */
  observeRoundtrip(kind: string, seconds: number): void;
  /** Observes the time a request waited for its answer, by kind and addressed role. */
  observeRequestWait(kind: string, role: string, seconds: number): void;
  /** Observes one event-loop lag sample. */
  observeEventLoopLag(seconds: number): void;
  /** Renders the text exposition, with gauges from `gauges`. */
  render(gauges?: GaugeSource): string;
}

/** Why an operator socket was closed 1008 (the `reason` label). */
export type SocketPolicyReason = "frame_rate" | "slow_consumer";

/** Options of {@link createMetrics}. */
export interface CreateMetricsOptions {
  /** The `version` label of `switchboard_build_info`. Default: the root deno.json's. */
  version?: string;
}

/** Creates an empty registry. */
export function createMetrics(options: CreateMetricsOptions = {}): Metrics {
  const buildInfo = labelKey({ version: options.version ?? SWITCHBOARD_VERSION });
  const http = new Map<string, number>();
  const runs = new Map<string, number>();
  let dropped = 0;
  const policyCloses: Record<SocketPolicyReason, number> = { frame_rate: 0, slow_consumer: 0 };
  const roundtrip = createHistogram(
    "switchboard_operator_roundtrip_seconds",
    "Time from sending an operator request to its settlement.",
    ROUNDTRIP_BUCKETS,
  );
  const wait = createHistogram(
    "switchboard_request_wait_seconds",
    "Time an operator request waited for its answer, by kind and addressed role.",
    ROUNDTRIP_BUCKETS,
  );
  const httpDuration = createHistogram(
    "switchboard_http_request_duration_seconds",
    "Time to answer an HTTP request (to the response head), by method, route pattern and status.",
    HTTP_BUCKETS,
  );
  const lag = createLagHistogram();

  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  // Label keys by label value, formatted once each (values are few; a role is one
  // of a seat's names). Nested maps: no string is built to look one up.
  const runKeys = new Map<string, string>();
  const roundtripKeys = new Map<string, string>();
  const waitKeys = new Map<string, Map<string, string>>();
  /** Formats the key of `labels` and remembers it under `value` (the label that varies). */
  const newKey = (map: Map<string, string>, value: string, labels: Labels): string => {
    const key = labelKey(labels);
    if (map.size < 4096) map.set(value, key);
    return key;
  };

  // Label keys are formatted once per (route, status) and (method, route, status):
  // this runs on every request.
  const httpKeys = new Map<string, string>();
  const timedKeys = new Map<string, string>();
  return {
    httpRequest(route, status, timing) {
      const id = `${status} ${route}`;
      let key = httpKeys.get(id);
      if (key === undefined) httpKeys.set(id, key = labelKey({ route, status: String(status) }));
      bump(http, key);
      if (!timing) return;
      const timedId = `${timing.method} ${id}`;
      let timed = timedKeys.get(timedId);
      if (timed === undefined) {
        timed = labelKey({ method: timing.method, route, status: String(status) });
        timedKeys.set(timedId, timed);
      }
      httpDuration.observe(timed, timing.seconds);
    },
    runEnded(status) {
      bump(runs, runKeys.get(status) ?? newKey(runKeys, status, { status }));
    },
    hookAfterDropped() {
      dropped++;
    },
    socketPolicyClosed(reason) {
      policyCloses[reason]++;
    },
    observeRoundtrip(kind, seconds) {
      const key = roundtripKeys.get(kind) ?? newKey(roundtripKeys, kind, { kind });
      roundtrip.observe(key, seconds);
    },
    observeRequestWait(kind, role, seconds) {
      let byRole = waitKeys.get(kind);
      if (!byRole) waitKeys.set(kind, byRole = new Map());
      wait.observe(byRole.get(role) ?? newKey(byRole, role, { kind, role }), seconds);
    },
    observeEventLoopLag(seconds) {
      lag.observe("", seconds);
    },
    render(gauges) {
      const out: string[] = [];
      const head = (name: string, type: string, help: string) =>
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

      head("switchboard_build_info", "gauge", "Always 1; the version is a label.");
      out.push(series("switchboard_build_info", buildInfo, 1));
      head("switchboard_operator_sessions", "gauge", "Operator sessions by state.");
      for (const { labels, value } of gauges?.sessions() ?? []) {
        out.push(series("switchboard_operator_sessions", labelKey(labels), value));
      }
      head("switchboard_pending_requests", "gauge", "Operator requests waiting for a reply.");
      for (const { labels, value } of gauges?.pending() ?? []) {
        out.push(series("switchboard_pending_requests", labelKey(labels), value));
      }
      roundtrip.render(out);
      wait.render(out);
      head(
        "switchboard_oldest_pending_seconds",
        "gauge",
        "Age of the oldest pending operator request, by addressed role.",
      );
      for (const { labels, value } of gauges?.oldestPending?.() ?? []) {
        out.push(series("switchboard_oldest_pending_seconds", labelKey(labels), value));
      }
      head("switchboard_runs_in_progress", "gauge", "Runs executing now.");
      out.push(series("switchboard_runs_in_progress", "", gauges?.runsInProgress?.() ?? 0));
      head("switchboard_event_streams", "gauge", "Event streams (SSE) open now.");
      out.push(series("switchboard_event_streams", "", gauges?.eventStreams?.() ?? 0));
      const stored = gauges?.storeBytes?.() ?? [];
      if (stored.length > 0) {
        head(
          "switchboard_kv_file_bytes",
          "gauge",
          "The KV file: bytes used, on disk, and its bound.",
        );
        for (const { labels, value } of stored) {
          out.push(series("switchboard_kv_file_bytes", labelKey(labels), value));
        }
      }
      head("switchboard_runs_total", "counter", "Runs that ended, by final status.");
      for (const [key, value] of runs) out.push(series("switchboard_runs_total", key, value));
      head(
        "switchboard_hook_after_dropped_total",
        "counter",
        "hook_after frames dropped because the operator had no live socket.",
      );
      out.push(series("switchboard_hook_after_dropped_total", "", dropped));
      head(
        "switchboard_operator_socket_policy_closes_total",
        "counter",
        "Operator sockets closed 1008, by reason (frame_rate, slow_consumer).",
      );
      for (const [reason, value] of Object.entries(policyCloses)) {
        out.push(
          series("switchboard_operator_socket_policy_closes_total", labelKey({ reason }), value),
        );
      }
      head(
        "switchboard_http_requests_total",
        "counter",
        "HTTP answers by route pattern and status.",
      );
      for (const [key, value] of http) {
        out.push(series("switchboard_http_requests_total", key, value));
      }
      httpDuration.render(out);
      lag.render(out);
      renderProcessMetrics(out);
      return out.join("\n") + "\n";
    },
  };
}
