/**
 * Issue 6: the time to recover 1,000 waiting runs at boot. A fixture KV file
 * holds one operator seat and 1,000 runs, each waiting on a pending `spawn` to
 * that seat (made while the seat had no socket). Each iteration copies the
 * fixture (not timed), then times `openDeps` (open the KV, restore the seat
 * and its 1,000 pending requests, resume the 1,000 runs) until every run is
 * back at its waiting step. The resumed runs are then dropped without touching
 * the copy (not timed).
 *
 * @module
 */
import { openDeps } from "../boot.ts";
import { defaultConfig } from "../deps.ts";
import { mintSeat } from "../session/seats.ts";
import { prepareRun } from "../engine/prepare_run.ts";
import type { TaskBody } from "../protocol/tasks.ts";
import type { Logger } from "../observe/log.ts";

/** The runs dropped after each iteration fail their writes on purpose: say nothing. */
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const RUNS = 1_000;
const dir = await Deno.makeTempDir({ prefix: "switchboard-recover-bench-" });
const fixture = `${dir}/fixture.kv`;

const BODY: TaskBody = {
  blueprint: {
    kind: "inline",
    value: {
      id: "waiting",
      operators: [{ name: "main-ai" }],
      agents: [
        { name: "first", kind: "rust_fn", spec: { fn_id: "identity" } },
        { name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } },
      ],
      flow: {
        kind: "seq",
        children: [
          { kind: "step", ref: "first", in: "'x'", out: "$.a" },
          { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
        ],
      },
    },
  },
  init_ctx: { note: "waiting for a person" },
};

/** Writes the fixture: a seat and RUNS runs waiting on it. */
async function writeFixture(): Promise<void> {
  const deps = await openDeps(defaultConfig({ kvPath: fixture, logLevel: "error" }));
  await mintSeat(deps, ["main-ai"]);
  const warn = () => {};
  const request = await prepareRun({ ...deps, blueprints: deps.stores.blueprints, warn }, BODY);
  for (let i = 0; i < RUNS; i++) deps.engine.start(request);
  const waiting = () => [...deps.sessions.values()].reduce((n, s) => n + s.pendingCount, 0);
  while (waiting() < RUNS) await new Promise((r) => setTimeout(r, 10));
  await deps.close(); // flushes what the engine and the seat owe the store
}
await writeFixture();

let copy = 0;
const phases: Array<[number, number]> = [];
async function freshCopy(): Promise<string> {
  const path = `${dir}/copy-${++copy}.kv`;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      await Deno.copyFile(fixture + suffix, path + suffix);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return path;
}

Deno.bench(`recover ${RUNS} waiting runs at boot (KV file)`, { n: 5, warmup: 1 }, async (b) => {
  const path = await freshCopy();
  b.start();
  const started = performance.now();
  const deps = await openDeps(defaultConfig({ kvPath: path }), { log: quiet });
  const opened = performance.now();
  // back at the waiting step: every spawn is pending on its seat again
  const waiting = () => [...deps.sessions.values()].reduce((n, s) => n + s.pendingCount, 0);
  while (waiting() < RUNS) await new Promise((r) => setTimeout(r, 1));
  b.end();
  phases.push([opened - started, performance.now() - opened]);
  if (deps.recovered.runs !== RUNS || deps.recovered.requests !== RUNS) {
    throw new Error(`recovered ${JSON.stringify(deps.recovered)}`);
  }
  // Drop the runs without writing: close the store first, then stop them.
  await deps.close();
  await deps.engine.stopAll();
  await Deno.remove(path).catch(() => {});
});

globalThis.addEventListener("unload", () => {
  const ms = (i: 0 | 1) => (phases.reduce((n, p) => n + p[i], 0) / phases.length).toFixed(0);
  console.log(`openDeps ${ms(0)} ms, then back at the waiting step ${ms(1)} ms (mean)`);
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // best effort
  }
});
