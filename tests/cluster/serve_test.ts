/**
 * Any instance answers: an operator seated on instance A serves a run started
 * on instance B, for every request kind, with B's worker routes.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import type { DoctorReport } from "../../protocol/operability.ts";
import { openSql } from "../../store/pg_sql.ts";
import { freshDatabase, PG_IGNORE } from "../_pg.ts";
import { getJson, nextOf, post, runEnded, seatOn, startCluster } from "./_instances.ts";
import { startRunOn, withCluster } from "./_spawn_run.ts";

/** One operator agent behind a spawn hook and a senior bridge. */
const EVERY_KIND = {
  id: "every-kind",
  operators: [{ name: "main-ai" }],
  agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } }],
  flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
  spawner_hints: { layers: ["main_ai", "senior_escalation"] },
};

Deno.test({
  name:
    "an operator on instance A serves a run started on B: hook_before, spawn (worker on A and B), ask, hook_after",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      const runId = await startRunOn(b, EVERY_KIND, {
        operator: { kind: "main_ai", spawn_hook_id: op.sid, senior_bridge_id: op.sid },
      });

      const hb = await nextOf(op.ws, "hook_before");
      // the doctor of any instance: B owns the run, A holds the seat's socket
      const doctor = await getJson<DoctorReport>(a.base, "/v1/doctor");
      assert.deepEqual(
        doctor.body.cluster?.instances.map((i) => [i.id, i.runs, i.seats]),
        [["i-a", 0, 1], ["i-b", 1, 0]],
      );
      op.ws.send({ type: "hook_ack", req_id: hb.req_id, ok: true });
      const spawn = await nextOf(op.ws, "spawn");
      assert.ok(spawn.directive.includes(`${b.base}/v1/worker/prompt`), spawn.directive);
      // the worker may reach any instance: A hands its calls to B, the run's owner
      const auth = { authorization: `Bearer ${spawn.worker_handle}` };
      const prompt = await fetch(`${a.base}/v1/worker/prompt?task_id=${spawn.task_id}`, {
        headers: auth,
      });
      assert.equal(prompt.status, 200, await prompt.text());
      const viaToken = await fetch(`${a.base}/v1/worker/prompt?task_id=${spawn.task_id}`, {
        headers: { authorization: `Bearer ${spawn.capability_token}` },
      });
      assert.equal(viaToken.status, 200, await viaToken.text());
      const submit = await fetch(`${a.base}/v1/worker/submit?ok=false`, {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: "stuck on the schema",
      });
      assert.equal(submit.status, 204, await submit.text());
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });

      // the spawn's hook_after and the senior's ask go out together, in either order
      const next = [await op.ws.next({ signal: AbortSignal.timeout(15_000) })];
      next.push(await op.ws.next({ signal: AbortSignal.timeout(15_000) }));
      assert.deepEqual(next.map((f) => f.type).sort(), ["ask", "hook_after"]);
      const ask = next.find((f) => f.type === "ask") as Extract<ServerFrame, { type: "ask" }>;
      const after = next.find((f) => f.type === "hook_after")!;
      assert.equal(ask.task_id, spawn.task_id);
      assert.equal("task_id" in after && after.task_id, spawn.task_id);
      op.ws.send({ type: "answer", req_id: ask.req_id, value: { use: "v2" } });

      const run = await runEnded(a, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, {
        r: { original: "stuck on the schema", senior_answer: { use: "v2" } },
      });
      // a second answer is refused, and the run is listed on every instance
      op.ws.send({ type: "answer", req_id: ask.req_id, value: "again" });
      const refused = await nextOf(op.ws, "error");
      assert.equal(refused.req_id, ask.req_id);
      for (const on of cluster) {
        const { body } = await getJson<{ runs: Array<{ run_id: string }> }>(on.base, "/v1/runs");
        assert.ok(body.runs.some((r) => r.run_id === runId), on.id);
      }
    }),
});

Deno.test({
  name: "GET /v1/runs/:id/events on an instance that does not own the run follows it live",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster;
    const op = await seatOn(b, ["main-ai"]);
    try {
      const started = await post(b.base, "/v1/runs", {
        blueprint: {
          kind: "inline",
          value: { ...EVERY_KIND, spawner_hints: { layers: [] } },
        },
        init_ctx: {},
      });
      const runId = started.body!.run_id as string;
      const spawn = await nextOf(op.ws, "spawn");
      const res = await fetch(`${a.base}/v1/runs/${runId}/events`, {
        signal: AbortSignal.timeout(20_000),
      });
      assert.equal(res.status, 200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("event: operator_request_sent")) text += (await reader.read()).value;
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: 1 });
      while (!text.includes("event: run_ended")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      await reader.cancel();
      const types = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
      assert.deepEqual(types.at(-1), "run_ended");
      const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(ids, ids.map((_, i) => i + 1), "no gap, no repeat");
    } finally {
      await op.ws.close();
    }
  },
});

Deno.test({
  name: "DELETE /v1/runs/:id on an instance that does not own the run cancels it on its owner",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      const started = await post(b.base, "/v1/runs", {
        blueprint: { kind: "inline", value: { ...EVERY_KIND, spawner_hints: { layers: [] } } },
        init_ctx: {},
      });
      const runId = started.body!.run_id as string;
      const spawn = await nextOf(op.ws, "spawn");
      const res = await fetch(`${a.base}/v1/runs/${runId}`, { method: "DELETE" });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.status, "cancelled");
      const cancel = await nextOf(op.ws, "cancel");
      assert.deepEqual(cancel, { type: "cancel", req_id: spawn.req_id, reason: "run_ended" });
      const again = await fetch(`${a.base}/v1/runs/${runId}`, { method: "DELETE" });
      assert.equal(again.status, 410);
      await again.body?.cancel();
    }),
});

Deno.test({
  name: "a request opened while the socket instance's listener reconnects still reaches the socket",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster;
    const op = await seatOn(a, ["main-ai"]);
    const sql = openSql(url, { max: 1 });
    try {
      // cut A's LISTEN connection, then open a request at once: its notification may be lost,
      // and A's reconnect reads the tables again
      const cut = await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'switchboard i-a' AND query ILIKE 'listen%'`;
      assert.equal(cut.length, 1);
      const started = await post(b.base, "/v1/runs", {
        blueprint: { kind: "inline", value: { ...EVERY_KIND, spawner_hints: { layers: [] } } },
        init_ctx: {},
      });
      const runId = started.body!.run_id as string;
      const spawn = await nextOf(op.ws, "spawn", 15_000);
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "healed" });
      const run = await runEnded(b, runId);
      assert.equal(run.status, "succeeded");
      const doctor = await getJson<DoctorReport>(a.base, "/v1/doctor");
      assert.ok((doctor.body.cluster?.bus_reconnects ?? 0) >= 1, "A's listener reconnected");
    } finally {
      await sql.end();
      await op.ws.close();
    }
  },
});
