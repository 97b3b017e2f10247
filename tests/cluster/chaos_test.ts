/**
 * 200 runs spread over three instances while one of them is SIGKILLed and
 * restarted under the same id: every run ends, and nothing is applied twice.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { freshDatabase, PG_IGNORE } from "../_pg.ts";
import { openSocket } from "../_helpers.ts";
import { eventually, getJson, post, startCluster, startInstance } from "./_instances.ts";
import { oneSpawn } from "./_spawn_run.ts";

const RUNS = 200;

Deno.test({
  name:
    "200 runs over three instances while one is killed and restarted: all end, none applied twice",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b", "i-c"]);
    const [a, b, c] = cluster;
    const minted = await post(a.base, "/v1/operators", { roles: ["main-ai"] });
    const { sid, token } = minted.body as { sid: string; token: string };
    const ws = await openSocket(`${a.wsBase}/v1/operators/${sid}/ws`, { token });
    // the operator acks every spawn with its req_id, and counts what it saw; it holds its
    // acks until C has died, so C dies with runs in flight
    const seen = new Map<string, number>();
    const stop = new AbortController();
    const release = Promise.withResolvers<void>();
    const operator = (async () => {
      while (!stop.signal.aborted) {
        let frame: ServerFrame;
        try {
          frame = await ws.next({
            signal: AbortSignal.any([stop.signal, AbortSignal.timeout(60_000)]),
          });
        } catch {
          return;
        }
        if (frame.type !== "spawn") continue;
        seen.set(frame.req_id, (seen.get(frame.req_id) ?? 0) + 1);
        const reqId = frame.req_id;
        release.promise.then(() =>
          ws.send({ type: "spawn_ack", req_id: reqId, ok: true, value: reqId })
        );
      }
    })();
    let restarted: Awaited<ReturnType<typeof startInstance>> | undefined;
    try {
      const ids: string[] = [];
      const starters = [a, b, c];
      for (let i = 0; i < RUNS; i++) {
        if (i === RUNS / 2) await c.kill("SIGKILL"); // mid-way: C dies with its runs
        const on = i >= RUNS / 2 ? starters[i % 2] : starters[i % 3];
        const res = await post(on.base, "/v1/runs", {
          blueprint: { kind: "inline", value: oneSpawn("chaos") },
          init_ctx: {},
        });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        ids.push(res.body!.run_id as string);
      }
      await eventually(
        () => Promise.resolve(seen.size === RUNS ? true : undefined),
        30_000,
        "every spawn reached the operator",
      );
      release.resolve();
      restarted = await startInstance(url, "i-c");
      const ended = await eventually(
        async () => {
          const { body } = await getJson<{ runs: Array<{ run_id: string; status: string }> }>(
            restarted!.base,
            `/v1/runs?limit=${RUNS + 10}`,
          );
          const running = body.runs.filter((r) => r.status === "running").length;
          return running === 0 && body.runs.length === RUNS ? body.runs : undefined;
        },
        60_000,
        "every run ended",
      );
      assert.deepEqual(
        [...new Set(ended.map((r) => r.status))],
        ["succeeded"],
        JSON.stringify(ended.filter((r) => r.status !== "succeeded").slice(0, 3)),
      );
      for (const runId of ids.slice(0, 20)) {
        const { body } = await getJson<{ steps: Array<{ attempt: number; verdict: string }> }>(
          b.base,
          `/v1/runs/${runId}`,
        );
        assert.deepEqual(body.steps.map((s) => [s.attempt, s.verdict]), [[1, "pass"]], runId);
      }
      assert.equal(seen.size, RUNS, "one spawn per run");
      assert.ok([...seen.values()].every((n) => n === 1), "no spawn delivered twice");
      const settled = [a, b, restarted].flatMap((i) =>
        i.stderr().split("\n").filter((l) => l.includes('"msg":"operator request settled"'))
      );
      assert.equal(settled.length, RUNS, "each reply applied once");
      const claimed = [a, b, restarted].flatMap((i) =>
        i.stderr().split("\n").filter((l) => l.includes('"msg":"claimed runs"'))
      ).reduce((n, l) => n + (JSON.parse(l).count as number), 0);
      assert.ok(claimed > 0, "C's runs were taken over");
    } catch (err) {
      for (const i of [...cluster, ...(restarted ? [restarted] : [])]) {
        console.error(
          `--- ${i.id}\n${i.stderr().split("\n").filter((l) => !l.includes('"info"')).join("\n")}`,
        );
      }
      throw err;
    } finally {
      stop.abort();
      await operator;
      await ws.close();
      await restarted?.[Symbol.asyncDispose]();
    }
  },
});
