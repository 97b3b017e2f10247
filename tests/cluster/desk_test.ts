/**
 * The operator's desk in a cluster: an ask node run on one instance reaches a
 * seat whose socket is on another with its schema and context; an invalid
 * answer is refused with its issues, a valid one settles it, and the run's
 * requests show who answered.
 *
 * @module
 */
import assert from "node:assert/strict";
import { freshDatabase, PG_IGNORE } from "../_pg.ts";
import {
  eventually,
  getJson,
  nextOf,
  post,
  runEnded,
  seatOn,
  seesConnected,
  startCluster,
  startInstance,
} from "./_instances.ts";

Deno.test({
  name: "an ask node across instances: schema, context, a refused answer, then the audit",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster;
    const op = await seatOn(a, ["reviewer"]);
    // B learns of the seat over the bus before the run asks for its role
    await seesConnected(b, op.sid);
    const schema = { type: "string", enum: ["ship", "hold"] };
    const started = await post(b.base, "/v1/runs", {
      blueprint: {
        kind: "inline",
        value: {
          id: "desk-cluster",
          flow: { kind: "ask", to: "reviewer", question: "'ship?'", schema, out: "$.v" },
        },
      },
      init_ctx: {},
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const runId = started.body!.run_id as string;
    const ask = await nextOf(op.ws, "ask");
    assert.deepEqual(ask.schema, schema);
    assert.equal(ask.context?.run_id, runId);
    assert.equal(ask.context?.blueprint_id, "desk-cluster");
    op.ws.send({ type: "answer", req_id: ask.req_id, value: "maybe" });
    const refused = await nextOf(op.ws, "error");
    assert.deepEqual(refused.issues, [{
      path: [],
      pointer: "",
      message: "must be equal to one of the allowed values",
    }]);
    op.ws.send({ type: "answer", req_id: ask.req_id, value: "ship" });
    const run = await runEnded(b, runId);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.deepEqual(run.final_ctx, { v: "ship" });
    const { body } = await getJson<{ requests: Array<Record<string, unknown>> }>(
      b.base,
      `/v1/runs/${runId}`,
    );
    assert.equal(body.requests.length, 1);
    assert.equal(body.requests[0].state, "settled");
    assert.equal((body.requests[0].by as { sid: string }).sid, op.sid);
    assert.equal(body.requests[0].value, "ship");
    await op.ws.close();
  },
});

Deno.test({
  name:
    "the rows keep a request's role, deadline and answering client: an instance that reads them from the table shows them",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b"]);
    const [a, b] = cluster;
    const { sid, ws } = await seatOn(a, ["reviewer"], "desk-a");
    await seesConnected(b, sid);
    const started = await post(b.base, "/v1/runs", {
      blueprint: {
        kind: "inline",
        value: {
          id: "rows",
          flow: { kind: "ask", to: "reviewer", question: "'ship?'", out: "$.v" },
        },
      },
      init_ctx: {},
      ttl_secs: 600,
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const runId = started.body!.run_id as string;
    const ask = await nextOf(ws, "ask");

    // a third instance started now reads the pending request from the table
    await using c = await startInstance(url, "i-c");
    type Item = { req_id: string; role?: string; deadline: string | null };
    const item = await eventually(
      async () => {
        const { body } = await getJson<{ items: Item[] }>(c.base, "/v1/inbox");
        return body.items.find((i) => i.req_id === ask.req_id);
      },
      10_000,
      "instance C lists the ask",
    );
    assert.equal(item.role, "reviewer");
    assert.ok(item.deadline !== null, JSON.stringify(item));
    const secs = (Date.parse(item.deadline) - Date.now()) / 1000;
    assert.ok(secs > 500 && secs <= 600, `deadline in ${secs} s`);

    ws.send({ type: "answer", req_id: ask.req_id, value: "ship" });
    const run = await runEnded(b, runId);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const { body } = await getJson<{ requests: Array<{ by: { sid: string; client: unknown } }> }>(
      b.base,
      `/v1/runs/${runId}`,
    );
    // answered on A, journaled by B: the client A's socket declared
    assert.deepEqual(body.requests[0].by, { sid, roles: ["reviewer"], client: "desk-a" });
    await ws.close();
  },
});
