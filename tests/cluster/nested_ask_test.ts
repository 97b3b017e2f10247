/**
 * Nested asks in a cluster: the worker of a spawn asks the operator that
 * received it through any instance's worker routes (the run's owner answers
 * them), the seat's socket being on another instance or on the owner itself;
 * settling or cancelling the spawn cancels its pending nested asks.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { freshDatabase, PG_IGNORE } from "../_pg.ts";
import { eventually, getJson, nextOf, post, runEnded, seatOn, startCluster } from "./_instances.ts";
import { startRunOn, withCluster } from "./_spawn_run.ts";

/** An operator spawn, then (so the run outlives the spawn) an ask node to the same role. */
const SPAWN_THEN_ASK = {
  id: "nested-cluster",
  operators: [{ name: "main-ai" }],
  agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } }],
  flow: {
    kind: "seq",
    children: [
      { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
      { kind: "ask", to: "main-ai", question: "'next?'", out: "$.n" },
    ],
  },
  spawner_hints: { layers: [] },
};

type Frame<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

Deno.test({
  name:
    "a worker asks across instances: the operator on A answers a nested ask of a run on B, in time or polled; settling the spawn cancels the rest",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      const runId = await startRunOn(b, SPAWN_THEN_ASK);
      const spawn = await nextOf(op.ws, "spawn");
      const auth = { authorization: `Bearer ${spawn.capability_token}` };
      const handle = { authorization: `Bearer ${spawn.worker_handle}` };

      // asked on A (not the run's owner: it hands the call to B), answered within wait_secs
      const asking = post(a.base, "/v1/worker/ask", {
        question: "which branch?",
        schema: { type: "string" },
        wait_secs: 8,
      }, auth);
      const nested = await nextOf(op.ws, "ask");
      assert.equal(nested.parent_req_id, spawn.req_id);
      assert.equal(nested.question, "which branch?");
      assert.deepEqual(nested.schema, { type: "string" });
      assert.deepEqual(nested.context, spawn.context);
      assert.equal(nested.task_id, spawn.task_id);
      op.ws.send({ type: "answer", req_id: nested.req_id, value: 7 });
      assert.deepEqual((await nextOf(op.ws, "error")).issues?.[0], {
        path: [],
        pointer: "",
        message: "must be string",
      });
      op.ws.send({ type: "answer", req_id: nested.req_id, value: "main" });
      assert.deepEqual(await asking, { status: 200, body: { value: "main" } });

      // asked on B (the owner) without waiting: 202, then polled on A
      const later = await post(
        b.base,
        "/v1/worker/ask",
        { question: "sure?", wait_secs: 0 },
        handle,
      );
      assert.equal(later.status, 202, JSON.stringify(later.body));
      const reqId = later.body!.req_id as string;
      const second = await nextOf(op.ws, "ask");
      assert.equal(second.req_id, reqId);
      assert.equal(second.parent_req_id, spawn.req_id);
      assert.deepEqual(
        (await getJson(a.base, `/v1/worker/ask/${reqId}`, spawn.worker_handle)).body,
        {
          req_id: reqId,
          state: "pending",
        },
      );
      const polling = getJson(
        a.base,
        `/v1/worker/ask/${reqId}?wait_secs=8`,
        spawn.capability_token,
      );
      op.ws.send({ type: "answer", req_id: reqId, value: true });
      assert.deepEqual((await polling).body, { req_id: reqId, state: "settled", value: true });
      // a second answer is refused, wherever the row is
      op.ws.send({ type: "answer", req_id: reqId, value: false });
      assert.equal((await nextOf(op.ws, "error")).req_id, reqId);

      // settling the spawn cancels its pending nested ask (the worker waiting on it hears so);
      // the run goes on to its ask node
      const third = post(
        a.base,
        "/v1/worker/ask",
        { question: "still there?", wait_secs: 8 },
        auth,
      );
      const pendingAsk = await nextOf(op.ws, "ask");
      assert.equal(pendingAsk.parent_req_id, spawn.req_id);
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "done" });
      const frames: ServerFrame[] = [];
      const signal = AbortSignal.timeout(15_000);
      while (frames.length < 2) frames.push(await op.ws.next({ signal }));
      const cancel = frames.find((f) => f.type === "cancel") as Frame<"cancel"> | undefined;
      assert.deepEqual(cancel, {
        type: "cancel",
        req_id: pendingAsk.req_id,
        reason: "parent_ended",
      });
      const flowAsk = frames.find((f) => f.type === "ask") as Frame<"ask"> | undefined;
      assert.ok(flowAsk && flowAsk.parent_req_id === undefined, JSON.stringify(frames));
      const cancelled = await third;
      assert.equal(cancelled.status, 410, JSON.stringify(cancelled.body));
      assert.equal(cancelled.body!.error, "ask cancelled: parent_ended");
      assert.equal(cancelled.body!.req_id, pendingAsk.req_id);
      const gone = await post(b.base, "/v1/worker/ask", { question: "late", wait_secs: 0 }, auth);
      assert.ok(gone.status === 409 || gone.status === 410, JSON.stringify(gone));

      // the run's requests list the nested asks under their spawn
      const view = await getJson<{ requests: Array<{ req_id: string; parent_req_id?: string }> }>(
        a.base,
        `/v1/runs/${runId}`,
      );
      const children = view.body.requests.filter((r) => r.parent_req_id === spawn.req_id);
      assert.deepEqual(
        children.map((r) => r.req_id).sort(),
        [nested.req_id, reqId, pendingAsk.req_id].sort(),
      );
      op.ws.send({ type: "answer", req_id: flowAsk!.req_id, value: "stop" });
      const run = await runEnded(a, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, { r: "done", n: "stop" });
    }),
});

Deno.test({
  name:
    "a nested ask of a run whose owner holds the seat's socket, asked through another instance, is cancelled with its run",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster;
    const op = await seatOn(b, ["main-ai"]);
    try {
      const runId = await startRunOn(b, SPAWN_THEN_ASK);
      const spawn = await nextOf(op.ws, "spawn");
      const auth = { authorization: `Bearer ${spawn.capability_token}` };
      const asking = post(a.base, "/v1/worker/ask", { question: "ok?", wait_secs: 8 }, auth);
      const nested = await nextOf(op.ws, "ask");
      assert.equal(nested.parent_req_id, spawn.req_id);
      op.ws.send({ type: "answer", req_id: nested.req_id, value: { ok: 1 } });
      assert.deepEqual(await asking, { status: 200, body: { value: { ok: 1 } } });

      const waiting = await post(
        a.base,
        "/v1/worker/ask",
        { question: "more?", wait_secs: 0 },
        auth,
      );
      assert.equal(waiting.status, 202, JSON.stringify(waiting.body));
      const pendingAsk = await nextOf(op.ws, "ask");
      assert.equal(pendingAsk.req_id, waiting.body!.req_id);
      // cancelling the run (through A) cancels the spawn and its nested ask
      const del = await fetch(`${a.base}/v1/runs/${runId}`, { method: "DELETE" });
      assert.equal(del.status, 200, await del.text());
      const cancels = [await nextOf(op.ws, "cancel"), await nextOf(op.ws, "cancel")];
      assert.deepEqual(
        cancels.map((c) => [c.req_id, c.reason]).sort(),
        [[pendingAsk.req_id, "parent_ended"], [spawn.req_id, "run_ended"]].sort(),
      );
      await runEnded(a, runId);
    } catch (err) {
      for (const i of cluster) console.error(`--- ${i.id}\n${i.stderr()}`);
      throw err;
    } finally {
      await op.ws.close();
    }
  },
});

Deno.test({
  name:
    "SIGKILL of the run's owner with nested asks pending: after the takeover the worker's poll finds one answered meanwhile and follows the other",
  ignore: PG_IGNORE,
  fn: () =>
    withCluster(["i-a", "i-b"], ["main-ai"], async (cluster, op) => {
      const [a, b] = cluster;
      const runId = await startRunOn(b, SPAWN_THEN_ASK);
      const spawn = await nextOf(op.ws, "spawn");
      const auth = { authorization: `Bearer ${spawn.capability_token}` };
      const ids: string[] = [];
      for (const question of ["first?", "second?"]) {
        const asked = await post(b.base, "/v1/worker/ask", { question, wait_secs: 0 }, auth);
        assert.equal(asked.status, 202, JSON.stringify(asked.body));
        ids.push(asked.body!.req_id as string);
        assert.equal((await nextOf(op.ws, "ask")).req_id, ids.at(-1));
      }
      const [answered, open] = ids;
      await b.kill("SIGKILL");
      // answered while the run's owner is dead: stored, and found by the poll after the takeover
      op.ws.send({ type: "answer", req_id: answered, value: "early" });
      const pollOf = (reqId: string) =>
        eventually(
          async () => {
            const polled = await getJson(a.base, `/v1/worker/ask/${reqId}`, spawn.worker_handle);
            // 409 until A has taken the run over (the dead owner does not answer)
            return polled.status === 200 ? polled.body : undefined;
          },
          15_000,
          `the poll of ${reqId} answered by the new owner`,
        );
      assert.deepEqual(await pollOf(answered), {
        req_id: answered,
        state: "settled",
        value: "early",
      });
      // still pending: the new owner follows it
      assert.deepEqual(await pollOf(open), { req_id: open, state: "pending" });
      const polling = getJson(a.base, `/v1/worker/ask/${open}?wait_secs=8`, spawn.worker_handle);
      op.ws.send({ type: "answer", req_id: open, value: "yes" });
      assert.deepEqual((await polling).body, { req_id: open, state: "settled", value: "yes" });
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "done" });
      const flowAsk = await nextOf(op.ws, "ask");
      assert.equal(flowAsk.parent_req_id, undefined);
      op.ws.send({ type: "answer", req_id: flowAsk.req_id, value: "end" });
      const run = await runEnded(a, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, { r: "done", n: "end" });
    }),
});
