/**
 * `/v1/metrics` of a real server process passes `promtool check metrics`, and
 * carries the usual families: HTTP latency by method/route/status, runs in
 * progress, build info, process metrics and event-loop lag. Outside CI a
 * missing `promtool` skips with a message; in CI (`CI=true`) it fails
 * (`.ci/run` installs Debian's `prometheus` package for it).
 */
import assert from "node:assert/strict";
import { parsePrometheus } from "../../observe/parse_prometheus.ts";
import { SWITCHBOARD_VERSION } from "../../observe/build_info.ts";
import { spawnServer } from "./_child_server.ts";

function findPromtool(): string | null {
  try {
    const out = new Deno.Command("which", { args: ["promtool"], stdout: "piped", stderr: "null" })
      .outputSync();
    const path = new TextDecoder().decode(out.stdout).trim();
    return out.success && path ? path : null;
  } catch {
    return null;
  }
}

const promtool = findPromtool();
const ci = Deno.env.get("CI") === "true";
if (promtool === null && !ci) {
  console.warn("promtool test SKIPPED: no `promtool` on PATH (apt-get install -y prometheus)");
}

async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(promtool ?? "promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

Deno.test({
  name: "GET /v1/metrics of a running server passes promtool check metrics",
  ignore: promtool === null && !ci,
  async fn() {
    await using server = await spawnServer({});
    for (const path of ["/v1/healthz", "/v1/runs/run-nope", "/v1/doctor"]) {
      await (await fetch(`${server.base}${path}`)).body?.cancel();
    }
    const deleted = await fetch(`${server.base}/v1/runs/run-nope`, { method: "DELETE" });
    await deleted.body?.cancel();
    // The lag sampler ticks every 0.5 s: scrape until it has one sample (at most 10 s).
    let text = "";
    const deadline = Date.now() + 10_000;
    for (let i = 0; i < 100 && Date.now() < deadline; i++) {
      const res = await fetch(`${server.base}/v1/metrics`);
      text = await res.text();
      if (parsePrometheus(text).value("switchboard_event_loop_lag_seconds_count")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = parsePrometheus(text);
    assert.ok(m.value("switchboard_event_loop_lag_seconds_count")! >= 1, "a lag sample");
    assert.equal(m.value("switchboard_build_info", { version: SWITCHBOARD_VERSION }), 1);
    assert.equal(m.value("switchboard_runs_in_progress"), 0);
    const timed = (method: string, route: string, status: string) =>
      m.value("switchboard_http_request_duration_seconds_count", { method, route, status });
    assert.equal(timed("GET", "/v1/runs/:id", "404"), 1);
    assert.equal(timed("DELETE", "/v1/runs/:id", "404"), 1);
    assert.equal(timed("GET", "/v1/healthz", "200"), 1);
    for (const name of ["process_resident_memory_bytes", "process_cpu_seconds_total"]) {
      assert.ok(m.value(name)! > 0, name);
    }
    const start = m.value("process_start_time_seconds")!;
    assert.ok(Math.abs(start - Date.now() / 1000) < 120, `started ${start}`);

    const checked = await promtoolCheck(text);
    assert.equal(checked.code, 0, checked.output);
    assert.equal(checked.output.trim(), "", "no lint findings");
  },
});
