/**
 * The cluster's write-behind batches on a real PostgreSQL (tests/_pg.ts), as a
 * cross-instance spawn round trip writes them: each round, the run of the last
 * round ends (its record, step, task and events) and a new run starts and opens
 * an operator request, in the same turn. What a round trip waits for is the
 * request's row stored (`queueRequest` resolved): its frame goes out then.
 *
 * Cases: a fresh database, and one already holding R ended runs of this
 * instance (the table a server keeps for `SWITCHBOARD_RUN_RETENTION_SECS`),
 * with its statistics up to date, or not yet (autovacuum analyzes a table
 * some time after it grew).
 *
 * Run it with `deno run -A bench/pg_batch_bench.ts` (env: N rounds, R runs).
 *
 * @module
 */
import { freshDatabase } from "../tests/_pg.ts";
import { openSql } from "../store/pg_sql.ts";
import { migrate } from "../store/pg_schema.ts";
import { createPgRunStore } from "../store/run_store_pg.ts";
import { sampleRun } from "../store/_durable_store_cases.ts";
import type { RunEvent, StepRecord, TaskState } from "../protocol/runs.ts";

const N = Number(Deno.env.get("N") ?? 600);
const R = Number(Deno.env.get("R") ?? 20_000);

const frame = (reqId: string) => ({
  type: "spawn",
  req_id: reqId,
  task_id: "T-1",
  prompt: "x".repeat(600),
  token: "t".repeat(400),
});

async function rounds(url: string, label: string) {
  const sql = openSql(url);
  const writer = openSql(url, { max: 1, genericPlans: true });
  const runs = createPgRunStore(sql, { instanceId: "bench", writer });
  const times: number[] = [];
  let last: string | undefined;
  for (let i = 0; i < N + 50; i++) {
    const id = `run-${label}-${i}`;
    const t = performance.now();
    if (last !== undefined) {
      const ended = last;
      void runs.putStep(ended, { seq: 1, key: "/", verdict: "pass" } as unknown as StepRecord);
      void runs.putTask(
        { id: `T-${ended}`, run_id: ended, attempts: [], created_at: i } as unknown as TaskState,
      );
      void runs.appendEvent(ended, { id: 3, at: 3, type: "run_ended", data: {} } as RunEvent);
      void runs.putRun({ ...sampleRun(ended, i), status: "succeeded" });
    }
    void runs.putRun(sampleRun(id, i));
    void runs.appendEvent(id, { id: 1, at: 1, type: "run_started", data: {} } as RunEvent);
    void runs.putTask(
      { id: `T-${id}`, run_id: id, attempts: [], created_at: i } as unknown as TaskState,
    );
    const reqId = `op-1-spawn-${label}-${i}`;
    await runs.queueRequest({
      req_id: reqId,
      sid: "op-1",
      run_id: id,
      dedupe: `${id}|T-1|1|spawn`,
      kind: "spawn",
      task_id: `T-${id}`,
      attempt: 1,
      frame: frame(reqId),
      sent_at: i,
      state: "pending",
      note: null,
    });
    if (i >= 50) times.push(performance.now() - t);
    await runs.flushed();
    last = id;
  }
  await Promise.all([sql.end(), writer.end()]);
  times.sort((a, b) => a - b);
  const at = (q: number) => (times[Math.floor(times.length * q)] * 1000).toFixed(0);
  return `p50 ${at(0.5)} µs, p90 ${at(0.9)} µs`;
}

/** A migrated database holding `runs` ended runs of this instance, with statistics or not. */
async function database(runs: number, analyzed: boolean): Promise<string> {
  const url = await freshDatabase();
  const sql = openSql(url);
  await migrate(sql);
  await sql.unsafe(`INSERT INTO sb_runs (run_id, status, created_at, owner, epoch, record)
    SELECT 'run-old-' || g, 'succeeded', g, 'bench', 1, '{}'::json
    FROM generate_series(1, ${runs}) g`);
  if (analyzed) await sql`ANALYZE sb_runs`;
  await sql.end();
  return url;
}

console.log(`# a run's end and the next run's start with its request (N=${N})`);
const cases: Array<[string, number, boolean]> = [
  ["fresh database", 0, false],
  [`${R} ended runs, analyzed`, R, true],
  [`${R} ended runs, not analyzed yet`, R, false],
];
for (const [label, runs, analyzed] of cases) {
  const url = await database(runs, analyzed);
  console.log(`  ${label.padEnd(36)} until the request's row is stored: ${await rounds(url, "x")}`);
}
Deno.exit(0);
