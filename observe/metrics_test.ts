import assert from "node:assert/strict";
import { createMetrics } from "./metrics.ts";
import { parsePrometheus } from "./parse_prometheus.ts";

const FAMILIES = {
  switchboard_build_info: "gauge",
  switchboard_operator_sessions: "gauge",
  switchboard_pending_requests: "gauge",
  switchboard_operator_roundtrip_seconds: "histogram",
  switchboard_request_wait_seconds: "histogram",
  switchboard_oldest_pending_seconds: "gauge",
  switchboard_runs_total: "counter",
  switchboard_hook_after_dropped_total: "counter",
  switchboard_operator_socket_policy_closes_total: "counter",
  switchboard_http_requests_total: "counter",
  switchboard_runs_in_progress: "gauge",
  switchboard_event_streams: "gauge",
  switchboard_http_request_duration_seconds: "histogram",
  switchboard_event_loop_lag_seconds: "histogram",
  process_resident_memory_bytes: "gauge",
  process_cpu_seconds_total: "counter",
  process_start_time_seconds: "gauge",
};

Deno.test("createMetrics renders every family with its TYPE, even when empty", () => {
  const m = parsePrometheus(createMetrics().render());
  assert.deepEqual(Object.fromEntries(m.types), FAMILIES);
  assert.equal(m.value("switchboard_hook_after_dropped_total"), 0);
  const policy = "switchboard_operator_socket_policy_closes_total";
  assert.equal(m.value(policy, { reason: "frame_rate" }), 0);
  assert.equal(m.value(policy, { reason: "slow_consumer" }), 0);
});

Deno.test("createMetrics counts operator sockets closed 1008 by reason", () => {
  const metrics = createMetrics();
  metrics.socketPolicyClosed("frame_rate");
  metrics.socketPolicyClosed("frame_rate");
  metrics.socketPolicyClosed("slow_consumer");
  const m = parsePrometheus(metrics.render());
  const policy = "switchboard_operator_socket_policy_closes_total";
  assert.equal(m.value(policy, { reason: "frame_rate" }), 2);
  assert.equal(m.value(policy, { reason: "slow_consumer" }), 1);
});

Deno.test("createMetrics counts by label and keeps histogram buckets cumulative", () => {
  const metrics = createMetrics();
  metrics.httpRequest("/v1/runs/:id", 200);
  metrics.httpRequest("/v1/runs/:id", 200);
  metrics.httpRequest('/odd"\\route\n', 404);
  metrics.runEnded("failed");
  metrics.observeRoundtrip("ask", 0.002);
  metrics.observeRoundtrip("ask", 2);
  metrics.observeRoundtrip("ask", 5000);
  const m = parsePrometheus(metrics.render({
    sessions: () => [{ labels: { state: "connected" }, value: 3 }],
    pending: () => [{ labels: { kind: "spawn" }, value: 1 }],
  }));
  assert.equal(
    m.value("switchboard_http_requests_total", { route: "/v1/runs/:id", status: "200" }),
    2,
  );
  assert.equal(
    m.value("switchboard_http_requests_total", { route: '/odd"\\route\n', status: "404" }),
    1,
    "label values are escaped and parse back",
  );
  assert.equal(m.value("switchboard_runs_total", { status: "failed" }), 1);
  assert.equal(m.value("switchboard_operator_sessions", { state: "connected" }), 3);
  assert.equal(m.value("switchboard_pending_requests", { kind: "spawn" }), 1);
  const bucket = (le: string) =>
    m.value("switchboard_operator_roundtrip_seconds_bucket", { kind: "ask", le });
  assert.equal(bucket("0.001"), 0);
  assert.equal(bucket("0.005"), 1);
  assert.equal(bucket("5"), 2);
  assert.equal(bucket("1800"), 2);
  assert.equal(bucket("+Inf"), 3);
  assert.equal(m.value("switchboard_operator_roundtrip_seconds_count", { kind: "ask" }), 3);
  assert.equal(m.value("switchboard_operator_roundtrip_seconds_sum", { kind: "ask" }), 5002.002);
});

Deno.test("createMetrics times HTTP answers by method, route and status", () => {
  const metrics = createMetrics({ version: "9.9.9" });
  metrics.httpRequest("/v1/runs/:id", 200, { method: "GET", seconds: 0.003 });
  metrics.httpRequest("/v1/runs/:id", 200, { method: "GET", seconds: 0.2 });
  metrics.httpRequest("/v1/runs/:id", 200, { method: "DELETE", seconds: 0.02 });
  const m = parsePrometheus(
    metrics.render({ sessions: () => [], pending: () => [], runsInProgress: () => 4 }),
  );
  const labels = { method: "GET", route: "/v1/runs/:id", status: "200" };
  const bucket = (le: string) =>
    m.value("switchboard_http_request_duration_seconds_bucket", { ...labels, le });
  assert.equal(bucket("0.005"), 1);
  assert.equal(bucket("0.25"), 2);
  assert.equal(bucket("+Inf"), 2);
  assert.equal(m.value("switchboard_http_request_duration_seconds_count", labels), 2);
  assert.equal(
    m.value("switchboard_http_request_duration_seconds_count", { ...labels, method: "DELETE" }),
    1,
  );
  assert.equal(
    m.value("switchboard_http_requests_total", { route: "/v1/runs/:id", status: "200" }),
    3,
  );
  assert.equal(m.value("switchboard_build_info", { version: "9.9.9" }), 1);
  assert.equal(m.value("switchboard_runs_in_progress"), 4);
  assert.ok(m.value("process_resident_memory_bytes")! > 1_000_000);
  assert.ok(m.value("process_cpu_seconds_total")! > 0);
  const start = m.value("process_start_time_seconds")!;
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600, String(start));
});

Deno.test("createMetrics renders request waits by kind and role, and the oldest pending age", () => {
  const metrics = createMetrics();
  metrics.observeRequestWait("ask", "reviewer", 3);
  metrics.observeRequestWait("ask", "reviewer", 40);
  const m = parsePrometheus(metrics.render({
    sessions: () => [],
    pending: () => [],
    oldestPending: () => [{ labels: { role: "reviewer" }, value: 12.5 }],
  }));
  const labels = { kind: "ask", role: "reviewer" };
  assert.equal(m.value("switchboard_request_wait_seconds_count", labels), 2);
  assert.equal(m.value("switchboard_request_wait_seconds_bucket", { ...labels, le: "5" }), 1);
  assert.equal(m.value("switchboard_request_wait_seconds_bucket", { ...labels, le: "60" }), 2);
  assert.equal(m.value("switchboard_oldest_pending_seconds", { role: "reviewer" }), 12.5);
});
