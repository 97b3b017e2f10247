/**
 * Instances die: the owner of a run (SIGKILL, SIGSTOP past its lease) or the
 * instance holding an operator's socket. The cluster goes on: another instance
 * takes the run over and resumes it from its journal, the operator reconnects
 * anywhere and gets its pending frames replayed with the same req_ids, and
 * nothing is applied twice.
 *
 * @module
 */
import assert from "node:assert/strict";
import { freshDatabase, PG_IGNORE } from "../_pg.ts";
import { openSocket } from "../_helpers.ts";
import type { ServerFrame } from "../../protocol/frames.ts";
import {
  eventually,
  getJson,
  type Instance,
  nextOf,
  pendingOf,
  runEnded,
  seatOn,
  startCluster,
} from "./_instances.ts";
import { ackReplayed, oneSpawn, startRunOn, withCluster } from "./_spawn_run.ts";

function dump(cluster: Instance[]) {
  for (const i of cluster) console.error(`--- ${i.id}\n${i.stderr()}`);
}

/** Lines of an instance's log with `msg`. */
function logged(i: Instance, msg: string): Array<Record<string, unknown>> {
  return i.stderr().split("\n").filter((l) => l.includes(`"msg":"${msg}"`)).map((l) =>
    JSON.parse(l)
  );
}

Deno.test({
  name:
    "SIGKILL of a run's owner during a pending spawn: another instance resumes it and the ack lands once",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      const runId = await startRunOn(b);
      const spawn = await nextOf(op.ws, "spawn");
      await b.kill("SIGKILL");
      const killedAt = Date.now();
      // the reply reaches A while the run's owner is dead: stored, applied after takeover
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: { built: 1 } });
      op.ws.send({ type: "ping" });
      await nextOf(op.ws, "pong");
      const run = await runEnded(a, runId, 20_000);
      const tookMs = Date.now() - killedAt;
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, { r: { built: 1 } });
      const steps = run.steps as Array<{ agent: string; attempt: number; verdict: string }>;
      assert.deepEqual(steps.map((s) => [s.agent, s.attempt, s.verdict]), [["impl", 1, "pass"]]);
      assert.ok(tookMs < 1_000 + 5_000, `took ${tookMs} ms`);
      assert.deepEqual(op.ws.buffered().filter((f) => f.type === "spawn"), [], "no second spawn");
      const { body } = await getJson<{ status: string }>(a.base, `/v1/runs/${runId}`);
      assert.equal(body.status, "succeeded");
    }),
});

Deno.test({
  name:
    "SIGKILL of the instance holding the socket: the operator reconnects to another and gets the replay",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster;
    const op = await seatOn(a, ["main-ai"]);
    try {
      const runId = await startRunOn(b);
      const spawn = await nextOf(op.ws, "spawn");
      await a.kill("SIGKILL");
      await op.ws.closed;
      // at once, no wait for the dead instance's lease
      await ackReplayed(b, op, spawn, b, runId, "done");
    } catch (err) {
      dump(cluster);
      throw err;
    }
  },
});

Deno.test({
  name: "the same reply sent to two instances at once is applied once",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b", "i-c"]);
    const [a, b, c] = cluster;
    const op = await seatOn(a, ["main-ai"]);
    try {
      const runId = await startRunOn(c);
      const spawn = await nextOf(op.ws, "spawn");
      // a second socket on B replaces A's; both send the ack before A's closes
      const second = await openSocket(`${b.wsBase}/v1/operators/${op.sid}/ws`, {
        token: op.token,
      });
      try {
        const ack = { type: "spawn_ack", req_id: spawn.req_id, ok: true };
        op.ws.send({ ...ack, value: "from-a" });
        second.send({ ...ack, value: "from-b" });
        const run = await runEnded(c, runId);
        assert.equal(run.status, "succeeded");
        const r = (run.final_ctx as { r: string }).r;
        assert.ok(r === "from-a" || r === "from-b", r);
        const settled = [
          ...logged(a, "operator request settled"),
          ...logged(b, "operator request settled"),
        ]
          .filter((l) => l.req_id === spawn.req_id);
        assert.equal(settled.length, 1, JSON.stringify(settled));
        const steps = run.steps as unknown[];
        assert.equal(steps.length, 1);
      } finally {
        await second.close();
      }
    } catch (err) {
      dump(cluster);
      throw err;
    } finally {
      await op.ws.close();
    }
  },
});

Deno.test({
  name: "a SIGSTOPped owner that outlives its lease cannot write after the takeover",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      const runId = await startRunOn(b);
      const spawn = await nextOf(op.ws, "spawn");
      await b.kill("SIGSTOP");
      await eventually(
        () => Promise.resolve(logged(a, "claimed runs").length > 0 ? true : undefined),
        15_000,
        "A claims the run",
      );
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "by-a" });
      const run = await runEnded(a, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      const events = async () =>
        (await fetch(`${a.base}/v1/runs/${runId}/events`).then((r) => r.text()))
          .split("\n").filter((l) => l.startsWith("event:"));
      const before = await events();
      await b.kill("SIGCONT");
      // the old owner wakes up, finds the run taken over, and stops it without a write
      await eventually(
        () =>
          Promise.resolve(
            logged(b, "run taken over by another instance; stopped here").length > 0
              ? true
              : undefined,
          ),
        15_000,
        "B stops its copy",
      );
      await new Promise((r) => setTimeout(r, 500));
      const after = await getJson<{ status: string; final_ctx: unknown }>(
        a.base,
        `/v1/runs/${runId}`,
      );
      assert.equal(after.body.status, "succeeded");
      assert.deepEqual(after.body.final_ctx, { r: "by-a" });
      assert.deepEqual(await events(), before, "B wrote no event after the takeover");
    }),
});

Deno.test({
  name: "a run's deadline fires once, on the instance that took the run over",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      const runId = await startRunOn(b, oneSpawn(), { ttl_secs: 3 });
      const spawn = await nextOf(op.ws, "spawn");
      await b.kill("SIGKILL");
      const cancel = await nextOf(op.ws, "cancel", 15_000);
      assert.deepEqual(cancel, { type: "cancel", req_id: spawn.req_id, reason: "timeout" });
      const run = await runEnded(a, runId);
      assert.equal(run.status, "failed");
      assert.match(String(run.error), /^ttl expired/);
      const text = await fetch(`${a.base}/v1/runs/${runId}/events`).then((r) => r.text());
      const ended = text.split("\n").filter((l) => l === "event: run_ended");
      assert.equal(ended.length, 1, "one end");
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(op.ws.buffered().filter((f) => f.type === "cancel"), [], "one cancel");
    }),
});

/** Posts the worker's result of `spawn` through `via` until it is taken (204). */
function resultTaken(
  via: Instance,
  spawn: Extract<ServerFrame, { type: "spawn" }>,
  value: unknown,
) {
  return eventually(
    async () => {
      const res = await fetch(`${via.base}/v1/worker/result`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${spawn.capability_token}`,
        },
        body: JSON.stringify({ task_id: spawn.task_id, value, ok: true }),
      });
      await res.body?.cancel();
      return res.status === 204 ? true : undefined;
    },
    15_000,
    `the worker's result for ${spawn.task_id} is taken`,
  );
}

Deno.test({
  name: "after a takeover the worker's token works on the new owner, reached through any instance",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b", "i-c"], ["main-ai"], async (cluster, op) => {
      const [a, b, c] = cluster;
      const runId = await startRunOn(b);
      const spawn = await nextOf(op.ws, "spawn");
      await b.kill("SIGKILL");
      // C forwards to the run's owner: B while it is dead (refused, retry), then whoever took it
      await resultTaken(c, spawn, { shipped: true });
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
      const run = await runEnded(a, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, { r: { shipped: true } });
    }),
});

Deno.test({
  name: "worker results posted while the new owner is still resuming its claimed runs are kept",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b", "i-c"], ["main-ai"], async (cluster, op) => {
      const [a, b, c] = cluster;
      // many runs: the new owner claims them in one statement, then resumes them one
      // by one, so most results reach it after the claim and before their run is live
      const N = 24;
      const runIds: string[] = [];
      for (let i = 0; i < N; i++) runIds.push(await startRunOn(b));
      const spawns: Extract<ServerFrame, { type: "spawn" }>[] = [];
      for (let i = 0; i < N; i++) spawns.push(await nextOf(op.ws, "spawn"));
      await b.kill("SIGKILL");
      await Promise.all(spawns.map((spawn, i) => resultTaken(c, spawn, { n: i })));
      for (const spawn of spawns) op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
      for (const [i, runId] of runIds.entries()) {
        const run = await runEnded(a, runId);
        const posted = spawns.findIndex((s) => s.context?.run_id === runId);
        assert.equal(run.status, "succeeded", JSON.stringify(run));
        assert.deepEqual(run.final_ctx, { r: { n: posted } }, `run ${i}`);
      }
    }),
});

Deno.test({
  name: "a seat whose socket's instance died shows disconnected once the lease passes",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster;
    const op = await seatOn(a, []);
    const seen = () => getJson<{ connected: boolean }>(b.base, `/v1/operators/${op.sid}`, op.token);
    assert.equal(
      (await eventually(
        async () => {
          const { body } = await seen();
          return body.connected ? body : undefined;
        },
        10_000,
        "B sees the socket on A",
      )).connected,
      true,
    );
    await a.kill("SIGKILL");
    await op.ws.closed;
    const after = await eventually(
      async () => {
        const { body } = await seen();
        return body.connected ? undefined : body;
      },
      10_000,
      "B sees no socket",
    );
    assert.equal(after.connected, false);
  },
});

Deno.test({
  name:
    "a cancel sent while a run's owner is dead is kept and applied by the instance that takes it over",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      const runId = await startRunOn(b);
      const spawn = await nextOf(op.ws, "spawn");
      await b.kill("SIGKILL");
      const res = await fetch(`${a.base}/v1/runs/${runId}`, { method: "DELETE" });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.status, "cancelled");
      const cancel = await nextOf(op.ws, "cancel");
      assert.equal(cancel.req_id, spawn.req_id);
      // nothing of the run is left pending, to be replayed on a reconnect
      const left = await eventually(
        async () => {
          const pending = await pendingOf(a, op.sid, op.token);
          return pending.length === 0 ? pending : undefined;
        },
        5_000,
        "no pending request left",
      );
      assert.deepEqual(left, []);
    }),
});
