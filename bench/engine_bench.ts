/**
 * Issue 4: engine overhead per step, for a 1,000-step `seq` of `identity` steps
 * and for a 100-wide `fanout`, against calling `identity` directly the same
 * number of times in the same run. Target: < 50 µs overhead per step.
 *
 * Ours: `prepareRun` + `engine.start` + `await run.done` on a real engine
 * (createDeps: in-memory stores, logs at `error`), so every step creates its task
 * and attempt, mints and decodes a worker token, goes through the linked spawner
 * stack, writes its step, journal and events, and ends its tokens. Overhead per
 * step = (run time − direct time) / steps. A third pair runs a 100-step seq on a
 * Deno KV store (a temporary file), the server default (1,000 steps there would
 * take tens of seconds per run).
 *
 * @module
 */
import { createDeps } from "../deps.ts";
import { defaultConfig } from "../deps.ts";
import { prepareRun } from "../engine/prepare_run.ts";
import type { Engine } from "../engine/engine.ts";
import { identity, type WorkerInvocation } from "../engine/workers/function.ts";
import type { TaskBody } from "../protocol/tasks.ts";
import { openStores } from "../store/open_stores.ts";
import type { AppDeps } from "../deps.ts";

const STEPS = 1_000;
const WIDTH = 100;
const AGENTS = [{ name: "identity", kind: "rust_fn" as const, spec: { fn_id: "identity" } }];

const KV_STEPS = 100;

function seqOf(steps: number): TaskBody {
  return {
    blueprint: {
      kind: "inline",
      value: {
        id: "bench-seq",
        agents: AGENTS,
        flow: {
          kind: "seq",
          children: Array.from({ length: steps }, () => ({
            kind: "step",
            ref: "identity",
            in: "'x'",
            out: "$.r",
          })),
        },
      },
    },
    init_ctx: {},
  };
}
const seqBody = seqOf(STEPS);
const kvSeqBody = seqOf(KV_STEPS);

const fanoutBody: TaskBody = {
  blueprint: {
    kind: "inline",
    value: {
      id: "bench-fanout",
      agents: AGENTS,
      flow: {
        kind: "fanout",
        items: "$.items",
        bind: "$.item",
        body: { kind: "step", ref: "identity", in: "$.item", out: "$.r" },
        join: "all",
        out: "$.results",
      },
    },
  },
  init_ctx: { items: Array.from({ length: WIDTH }, (_, i) => `item-${i}`) },
};

const memory = await createDeps();
const kvPath = await Deno.makeTempFile({ prefix: "switchboard-bench-", suffix: ".kv" });
const kvStores = await openStores({ kvPath });
const kv = await createDeps({ config: defaultConfig({ kvPath }), stores: kvStores });
// The KV stays open to the end (its write-behind queue may still be draining);
// unlinking the files is enough.
globalThis.addEventListener("unload", () => {
  for (const suffix of ["", "-shm", "-wal"]) {
    try {
      Deno.removeSync(kvPath + suffix);
    } catch {
      // not there
    }
  }
});

async function runOnce(deps: AppDeps, engine: Engine, body: TaskBody): Promise<void> {
  const request = await prepareRun(
    { operators: deps.operators, blueprints: deps.stores.blueprints, warn() {} },
    body,
  );
  const run = await engine.start(request);
  const record = await run.done;
  if (record.status !== "succeeded") throw new Error(`run ${record.status}: ${record.error}`);
}

const minted = await memory.tokens.mintWorker("T-0000000000000001", "run-bench", 3600);
const invocation = (prompt: string): WorkerInvocation => ({
  taskId: "T-0000000000000001",
  attempt: 1,
  agent: "identity",
  prompt,
  system: null,
  token: minted.token,
  encodedToken: minted.encoded,
  workerHandle: minted.handle,
  runtime: { worker_handle: minted.handle },
  emit: () => Promise.resolve(),
  signal: new AbortController().signal,
});

Deno.bench({
  name: `identity called directly ×${STEPS} (sequential)`,
  group: `${STEPS}-step seq`,
  baseline: true,
  async fn() {
    let ctx: Record<string, unknown> = {};
    for (let i = 0; i < STEPS; i++) {
      const result = await identity(invocation("x"));
      ctx = { ...ctx, r: result.value };
    }
    if (!ctx.r) throw new Error("no result");
  },
});

Deno.bench({
  name: `engine run, ${STEPS}-step seq of identity`,
  group: `${STEPS}-step seq`,
  async fn() {
    await runOnce(memory, memory.engine, seqBody);
  },
});

Deno.bench({
  name: `identity called directly ×${WIDTH} (concurrent)`,
  group: `${WIDTH}-wide fanout`,
  baseline: true,
  async fn() {
    const results = await Promise.all(
      Array.from({ length: WIDTH }, (_, i) => identity(invocation(`item-${i}`))),
    );
    if (results.length !== WIDTH) throw new Error("lost results");
  },
});

Deno.bench({
  name: `engine run, ${WIDTH}-wide fanout of identity`,
  group: `${WIDTH}-wide fanout`,
  async fn() {
    await runOnce(memory, memory.engine, fanoutBody);
  },
});

Deno.bench({
  name: `identity called directly ×${KV_STEPS} (sequential)`,
  group: `${KV_STEPS}-step seq, Deno KV store`,
  baseline: true,
  async fn() {
    for (let i = 0; i < KV_STEPS; i++) await identity(invocation("x"));
  },
});

Deno.bench({
  name: `engine run, ${KV_STEPS}-step seq of identity, Deno KV store`,
  group: `${KV_STEPS}-step seq, Deno KV store`,
  n: 5,
  warmup: 1,
  async fn() {
    await runOnce(kv, kv.engine, kvSeqBody);
  },
});
