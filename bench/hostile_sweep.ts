/**
 * The long hostile-input sweep against the real server process. Not a
 * `Deno.bench` file: run it as a script.
 *
 * ```text
 * deno run -A bench/hostile_sweep.ts [--seconds 300] [--seed 1] [--kv :memory:|<path>]
 *                                    [--concurrency 3] [--canary-ms 1000]
 * ```
 *
 * It prints a JSON report and exits 1 when it saw a finding, a slow canary, a
 * dead server or internal-error log lines.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { sweepServer } from "../tests/hostile/_sweep_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "300" },
    seed: { type: "string", default: "1" },
    kv: { type: "string", default: ":memory:" },
    concurrency: { type: "string", default: "3" },
    "canary-ms": { type: "string", default: "1000" },
  },
});

let dir: string | undefined;
let kv = values.kv;
if (kv === "temp") {
  dir = await Deno.makeTempDir({ prefix: "switchboard-sweep-" });
  kv = `${dir}/data/switchboard.kv`;
}
const report = await sweepServer({
  kv,
  seed: Number(values.seed),
  ms: Number(values.seconds) * 1000,
  concurrency: Number(values.concurrency),
  canaryMs: Number(values["canary-ms"]),
});
if (dir) await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify(report, null, 2));
const failed = report.findings.length > 0 || report.canary.failures.length > 0 ||
  report.internalErrors.length > 0 || report.exited !== undefined || !report.aliveAfter;
console.error(
  `${report.attacks} attacks, ${report.sent} requests/frames/runs, ${report.findings.length} findings, ` +
    `canary worst healthz ${report.canary.worstHealthzMs.toFixed(0)} ms, worst run ` +
    `${report.canary.worstRunMs.toFixed(0)} ms, RSS peak ${report.rssMiB.peak.toFixed(0)} MiB, ` +
    `last ${report.rssMiB.last.toFixed(0)} MiB`,
);
Deno.exit(failed ? 1 : 0);
