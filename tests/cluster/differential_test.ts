/**
 * Same results as a single server: each scripted scenario (a Blueprint and an
 * operator's script) runs three ways — a single server on `:memory:`, a cluster
 * of two instances with the seat's socket and the run on one instance, and the
 * same cluster with the socket on A and the run on B — and what an outside
 * client observes is compared, normalized: the frames the operator gets (and
 * its socket's closes), the answers to the script's HTTP calls, the run's
 * record and its events (both read from every instance of the cluster).
 *
 * @module
 */
import assert from "node:assert/strict";
import { freshDatabase, PG_IGNORE } from "../_pg.ts";
import { startTask } from "../hostile/_task_start.ts";
import { abortable } from "../_helpers.ts";
import { startCluster } from "./_instances.ts";
import {
  endedRun,
  eventsOn,
  liveOn,
  type Mode,
  normalizer,
  seatOperator,
  type Side,
} from "./_observe.ts";
import { type Observation, ROLE, type Scenario, SCENARIOS, type Stage } from "./_diff_scenarios.ts";

/** One scenario on one mode: what the client saw, normalized. */
async function observe(mode: Mode, scenario: Scenario): Promise<Observation> {
  const op = await seatOperator(mode.seat, [ROLE]);
  let runId: string | undefined;
  const calls: unknown[] = [];
  const stage: Stage = {
    mode,
    op,
    runId: () => runId!,
    async start(blueprint, extra = {}) {
      // every instance sees the socket as it is (its claim, or its release, is done)
      for (const reader of mode.readers) await liveOn(reader, op, op.live());
      const res = await fetch(`${mode.run.base}/v1/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          blueprint: { kind: "inline", value: blueprint },
          init_ctx: {},
          ...extra,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = await res.json();
      assert.equal(res.status, 202, JSON.stringify(body));
      runId = body.run_id;
    },
    async call(on, path, init = {}) {
      const res = await fetch(`${on.base}${path}`, {
        ...init,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      const body = text ? JSON.parse(text) : null;
      calls.push({ path: path.replace(/\?.*/, ""), status: res.status, body });
      return body;
    },
  };
  /** A failure with the frames seen so far. */
  const withFrames = (err: unknown) => {
    const seen = op.sockets.map((l) =>
      l.map((f) => "code" in f ? `closed ${f.code}` : f.type === "error" ? f.error : f.type)
    );
    throw new Error(`${err instanceof Error ? err.message : err}; frames ${JSON.stringify(seen)}`);
  };
  try {
    await scenario.script(stage).catch(withFrames);
    assert.ok(runId, "the script started a run");
    await endedRun(mode.run, runId).catch(withFrames);
    await op.settle();
    const normalize = normalizer();
    const frames = normalize(op.sockets);
    const http = normalize(calls);
    const reads = [];
    for (const reader of mode.readers) {
      const { created_at: _c, finished_at: _f, ...run } = await endedRun(reader, runId);
      const events = await eventsOn(reader, runId);
      reads.push({ run: normalize(run), events: normalize(events) });
    }
    for (const [i, read] of reads.entries()) {
      assert.deepEqual(
        read,
        reads[0],
        `${mode.readers[i].name} reads what ${mode.readers[0].name} reads`,
      );
    }
    return { frames, http, ...reads[0] };
  } finally {
    await op.close();
    const gone = await fetch(`${mode.seat.base}/v1/operators/${op.sid}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${op.token}` },
    });
    const text = await gone.text();
    // 404: the script deleted it
    assert.ok(gone.status === 204 || gone.status === 404, `seat delete: ${gone.status} ${text}`);
  }
}

function sideOf(name: string, base: string): Side {
  return { name, base, wsBase: base.replace(/^http/, "ws") };
}

Deno.test({
  name: "a cluster answers every scripted scenario as a single server does, wherever the run is",
  ignore: PG_IGNORE,
  async fn(t) {
    await using single = await startTask(":memory:");
    const s = sideOf("single", await abortable(single.listening, AbortSignal.timeout(30_000)));
    await using cluster = await startCluster(await freshDatabase(), ["i-a", "i-b"]);
    const [a, b] = cluster.map((i) => sideOf(i.id, i.base));
    const modes: Mode[] = [
      { name: "single", seat: s, run: s, worker: s, away: s, readers: [s] },
      { name: "same", seat: a, run: a, worker: b, away: b, readers: [a, b] },
      { name: "cross", seat: a, run: b, worker: a, away: b, readers: [a, b] },
    ];
    // DIFF_ONLY=<part of a scenario's name> runs only the scenarios it names
    const only = Deno.env.get("DIFF_ONLY");
    for (const scenario of SCENARIOS.filter((s) => !only || s.name.includes(only))) {
      await t.step(scenario.name, async () => {
        const seen = new Map<string, Observation>();
        const failures: string[] = [];
        for (const mode of modes) {
          try {
            seen.set(mode.name, await observe(mode, scenario));
          } catch (err) {
            failures.push(`${mode.name}: ${err instanceof Error ? err.stack : err}`);
          }
        }
        try {
          assert.deepEqual(failures, [], "every mode ran its script");
          const single = seen.get("single")!;
          for (const name of ["same", "cross"]) {
            const observed = seen.get(name)!;
            const compared = scenario.unpinned?.(name, observed, single) ?? observed;
            assert.deepEqual(compared, single, `${name} differs from single`);
          }
        } catch (err) {
          for (const i of cluster) console.error(`--- ${i.id}\n${i.stderr().slice(-8_000)}`);
          throw err;
        }
      });
    }
  },
});
