/**
 * A small Prometheus registry: labelled counters, a histogram and gauges read at
 * scrape time. Renders the text exposition format 0.0.4.
 *
 * @module
 */

type Labels = Record<string, string>;

const ROUNDTRIP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",");
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function series(name: string, key: string, value: number): string {
  return `${name}${key ? `{${key}}` : ""} ${Number.isFinite(value) ? value : 0}`;
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

/** Gauge values read at scrape time. */
export interface GaugeSource {
  sessions(): Array<{ labels: Labels; value: number }>;
  pending(): Array<{ labels: Labels; value: number }>;
}

/** The metrics of one server. */
export interface Metrics {
  /** Counts one HTTP answer, labelled by route pattern (never by raw path). */
  httpRequest(route: string, status: number): void;
  /** Counts a run reaching a final status. */
  runEnded(status: string): void;
  /** Counts a `hook_after` dropped because no socket was live. */
  hookAfterDropped(): void;
  /** Observes an operator round trip (sent → settled), by request kind. */
  observeRoundtrip(kind: string, seconds: number): void;
  /** Renders the text exposition, with gauges from `gauges`. */
  render(gauges?: GaugeSource): string;
}

/** Creates an empty registry. */
export function createMetrics(): Metrics {
  const http = new Map<string, number>();
  const runs = new Map<string, number>();
  let dropped = 0;
  const roundtrip = new Map<string, HistogramSeries>();

  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

  const httpKeys = new Map<string, string>();
  return {
    httpRequest(route, status) {
      // One key per (route, status), formatted once: this runs on every request.
      const id = `${status} ${route}`;
      let key = httpKeys.get(id);
      if (key === undefined) httpKeys.set(id, key = labelKey({ route, status: String(status) }));
      bump(http, key);
    },
    runEnded(status) {
      bump(runs, labelKey({ status }));
    },
    hookAfterDropped() {
      dropped++;
    },
    observeRoundtrip(kind, seconds) {
      const key = labelKey({ kind });
      let h = roundtrip.get(key);
      if (!h) roundtrip.set(key, h = { counts: ROUNDTRIP_BUCKETS.map(() => 0), sum: 0, count: 0 });
      ROUNDTRIP_BUCKETS.forEach((le, i) => {
        if (seconds <= le) h.counts[i]++;
      });
      h.sum += seconds;
      h.count++;
    },
    render(gauges) {
      const out: string[] = [];
      const head = (name: string, type: string, help: string) =>
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

      head("switchboard_operator_sessions", "gauge", "Operator sessions by state.");
      for (const { labels, value } of gauges?.sessions() ?? []) {
        out.push(series("switchboard_operator_sessions", labelKey(labels), value));
      }
      head("switchboard_pending_requests", "gauge", "Operator requests waiting for a reply.");
      for (const { labels, value } of gauges?.pending() ?? []) {
        out.push(series("switchboard_pending_requests", labelKey(labels), value));
      }
      head(
        "switchboard_operator_roundtrip_seconds",
        "histogram",
        "Time from sending an operator request to its settlement.",
      );
      for (const [key, h] of roundtrip) {
        const sep = key ? "," : "";
        ROUNDTRIP_BUCKETS.forEach((le, i) => {
          out.push(
            series(
              "switchboard_operator_roundtrip_seconds_bucket",
              `${key}${sep}le="${le}"`,
              h.counts[i],
            ),
          );
        });
        out.push(
          series("switchboard_operator_roundtrip_seconds_bucket", `${key}${sep}le="+Inf"`, h.count),
          series("switchboard_operator_roundtrip_seconds_sum", key, h.sum),
          series("switchboard_operator_roundtrip_seconds_count", key, h.count),
        );
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
        "switchboard_http_requests_total",
        "counter",
        "HTTP answers by route pattern and status.",
      );
      for (const [key, value] of http) {
        out.push(series("switchboard_http_requests_total", key, value));
      }
      return out.join("\n") + "\n";
    },
  };
}
