/**
 * Process metrics in the names every Prometheus client library uses
 * (`process_resident_memory_bytes`, `process_cpu_seconds_total`,
 * `process_start_time_seconds`), and an event-loop lag sampler.
 *
 * @module
 */
import process from "node:process";
import { createHistogram, type Histogram, series } from "./histogram.ts";
import { unrefTimer } from "../engine/long_timeout.ts";

/** Upper bounds of the event-loop lag histogram, in seconds. */
export const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** When this process started, in seconds since the epoch. */
const START_TIME_SECONDS = performance.timeOrigin / 1000;

/** Appends the process families to `out`, read now. */
export function renderProcessMetrics(out: string[]): void {
  const cpu = process.cpuUsage();
  out.push(
    "# HELP process_resident_memory_bytes Resident memory size in bytes.",
    "# TYPE process_resident_memory_bytes gauge",
    series("process_resident_memory_bytes", "", Deno.memoryUsage().rss),
    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
    "# TYPE process_cpu_seconds_total counter",
    series("process_cpu_seconds_total", "", (cpu.user + cpu.system) / 1e6),
    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
    "# TYPE process_start_time_seconds gauge",
    series("process_start_time_seconds", "", Math.round(START_TIME_SECONDS * 1000) / 1000),
  );
}

/** The event-loop lag histogram. */
export function createLagHistogram(): Histogram {
  return createHistogram(
    "switchboard_event_loop_lag_seconds",
    "How late a timer fired compared with when it was due (event-loop lag), sampled every 0.5 s.",
    LAG_BUCKETS,
  );
}

/** Options of {@link monitorEventLoopLag}. */
export interface MonitorEventLoopLagOptions {
  /** Sampling period. Default 500 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Samples event-loop lag into `observe` (seconds) until `signal` aborts: a timer
 * is set for `intervalMs`, and how late it fires is the lag. The timer does not
 * keep the process alive.
 */
export function monitorEventLoopLag(
  observe: (seconds: number) => void,
  options: MonitorEventLoopLagOptions = {},
): void {
  const { intervalMs = 500, signal } = options;
  if (signal?.aborted) return;
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const due = performance.now() + intervalMs;
    timer = setTimeout(() => {
      observe(Math.max(0, performance.now() - due) / 1000);
      arm();
    }, intervalMs);
    unrefTimer(timer); // a Node-style Timeout once node: modules are loaded
  };
  arm();
  signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
}
