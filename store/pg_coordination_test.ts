/**
 * The cluster's coordination rows on a real PostgreSQL: run claims with
 * epochs and fenced writes, requests settled once cluster-wide, and seats whose
 * roles are exclusive cluster-wide.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isSwitchboardError } from "../protocol/errors.ts";
import type { RequestFrame } from "../protocol/frames.ts";
import { freshDatabase, PG_IGNORE } from "../tests/_pg.ts";
import { migrate } from "./pg_schema.ts";
import { openSql, type Sql } from "./pg_sql.ts";
import { claimOrphanRuns, FencedError, fencedWrite, runsByOwner } from "./pg_run_owner.ts";
import {
  cancelRequest,
  cancelSeatRequests,
  openRequest,
  pendingOfSeat,
  settleRequest,
} from "./pg_requests.ts";
import {
  claimSocket,
  deleteSeatRow,
  getSeat,
  giveSocketBack,
  insertSeat,
  releaseSocket,
} from "./pg_seats.ts";
import type { RequestRecord } from "./seat_store.ts";

async function withPools(n: number, fn: (pools: Sql[]) => Promise<void>): Promise<void> {
  const url = await freshDatabase();
  const pools = Array.from({ length: n }, () => openSql(url));
  try {
    await migrate(pools[0]);
    await fn(pools);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}

async function addRun(sql: Sql, runId: string, owner: string, createdAt: number) {
  await sql`INSERT INTO sb_runs (run_id, status, created_at, owner, epoch, record)
    VALUES (${runId}, 'running', ${createdAt}, ${owner}, 1, ${sql.json({ run_id: runId })})`;
}

async function beat(sql: Sql, id: string, ageSecs: number) {
  await sql`INSERT INTO sb_instances (id, url, started_at, heartbeat_at)
    VALUES (${id}, 'http://x', now(), now() - make_interval(secs => ${ageSecs}))
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`;
}

Deno.test({
  name: "runs of a dead owner are claimed once each by concurrent claimers, with a new epoch",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(3, async ([a, b, c]) => {
      await beat(a, "i-dead", 30);
      await beat(a, "i-live", 0);
      await beat(a, "i-b", 0);
      await beat(a, "i-c", 0);
      for (let i = 0; i < 60; i++) await addRun(a, `run-${i}`, "i-dead", i);
      await addRun(a, "run-live", "i-live", 100);
      await addRun(a, "run-gone", "i-never-registered", 101);
      const claims = await Promise.all([
        claimOrphanRuns(b, "i-b", 10, { limit: 25 }),
        claimOrphanRuns(c, "i-c", 10, { limit: 25 }),
        claimOrphanRuns(b, "i-b", 10, { limit: 25 }),
        claimOrphanRuns(c, "i-c", 10, { limit: 25 }),
      ]);
      const all = claims.flat();
      const ids = all.map((r) => r.run_id);
      assert.equal(new Set(ids).size, ids.length, "a run was claimed twice");
      assert.equal(ids.length, 61);
      assert.ok(!ids.includes("run-live"));
      assert.ok(all.every((r) => r.epoch === 2));
      assert.equal((await runsByOwner(a)).get("i-dead"), undefined);
      assert.deepEqual(await claimOrphanRuns(b, "i-b", 10), []);
    });
  },
});

Deno.test({
  name: "a write fenced by an old epoch fails after a takeover; the new owner's write lands",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(2, async ([old, next]) => {
      await addRun(old, "run-a", "i-old", 1);
      await beat(old, "i-old", 0);
      const oldClaim = { run_id: "run-a", epoch: 1 };
      await fencedWrite(old, oldClaim, (tx) => tx`UPDATE sb_runs SET status = 'running'`);
      assert.deepEqual(await claimOrphanRuns(next, "i-next", 10), []); // owner alive
      await beat(old, "i-old", 60); // paused past its lease
      const [claim] = await claimOrphanRuns(next, "i-next", 10);
      assert.deepEqual(claim, { run_id: "run-a", epoch: 2 });
      await assert.rejects(
        fencedWrite(old, oldClaim, (tx) => tx`UPDATE sb_runs SET status = 'failed'`),
        FencedError,
      );
      // the old owner can neither open nor cancel a request of the run any more
      await assert.rejects(
        openRequest(old, request("op-9", 1, "run-a"), { epoch: 1 }),
        FencedError,
      );
      const opened = await openRequest(next, request("op-9", 2, "run-a"), { epoch: 2 });
      assert.equal(opened.state, "pending");
      assert.equal(
        await cancelRequest(old, "op-9-ask-2", "run_ended", { runId: "run-a", epoch: 1 }),
        undefined,
      );
      assert.equal(
        (await cancelRequest(next, "op-9-ask-2", "timeout", { runId: "run-a", epoch: 2 }))?.state,
        "cancelled",
      );
      await fencedWrite(next, claim, (tx) => tx`UPDATE sb_runs SET status = 'succeeded'`);
      const [row] = await next`SELECT status, owner FROM sb_runs WHERE run_id = 'run-a'`;
      assert.deepEqual({ ...row }, { status: "succeeded", owner: "i-next" });
      // an instance restarted under its old id takes its own runs back at once
      await addRun(next, "run-b", "i-next", 2);
      assert.deepEqual(await claimOrphanRuns(old, "i-next", 10), []);
      assert.deepEqual(await claimOrphanRuns(old, "i-next", 10, { own: true }), [
        { run_id: "run-b", epoch: 2 },
      ]);
    });
  },
});

function request(sid: string, n: number, runId?: string): RequestRecord {
  const reqId = `${sid}-ask-${n}`;
  const frame: RequestFrame = { type: "ask", req_id: reqId, task_id: "T-1", question: n };
  return {
    req_id: reqId,
    sid,
    kind: "ask",
    ...(runId === undefined ? {} : { run_id: runId }),
    task_id: "T-1",
    attempt: 1,
    frame,
    sent_at: n,
    state: "pending",
  };
}

Deno.test({
  name: "a request is opened once per attempt and settled at most once cluster-wide",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(2, async ([a, b]) => {
      const first = await openRequest(a, request("op-1", 1, "run-a"));
      assert.equal(first.state, "pending");
      assert.ok(first.state === "pending" && first.created);
      // the run resumed elsewhere asks again for the same attempt: same req_id
      const again = await openRequest(b, request("op-1", 2, "run-a"));
      assert.ok(again.state === "pending" && !again.created);
      assert.equal(again.row.req_id, "op-1-ask-1");

      const reply = { type: "answer" as const, req_id: "op-1-ask-1", value: 42 };
      const results = await Promise.all([
        settleRequest(a, "op-1-ask-1", reply, { instance: "i-a", client: "desk" }),
        settleRequest(b, "op-1-ask-1", { ...reply, value: 43 }, { instance: "i-b", client: null }),
        settleRequest(a, "op-1-ask-1", { ...reply, value: 44 }, { instance: "i-a", client: null }),
      ]);
      assert.equal(results.filter((r) => r !== undefined).length, 1);
      const after = await openRequest(b, request("op-1", 3, "run-a"));
      assert.equal(after.state, "settled");
      const winner = results.find((r) => r);
      assert.deepEqual(after.row.reply, winner?.reply);
      // the row keeps who settled it: the instance and the client its socket declared
      // (only the first settle, value 42, came from a socket that declared one)
      const value = winner?.reply?.type === "answer" ? winner.reply.value : undefined;
      assert.equal(after.row.settled_client, value === 42 ? "desk" : undefined);

      await openRequest(a, request("op-1", 4, "run-b"));
      await openRequest(a, request("op-1", 5));
      assert.deepEqual((await pendingOfSeat(b, "op-1")).map((r) => r.req_id), [
        "op-1-ask-4",
        "op-1-ask-5",
      ]);
      assert.equal((await cancelSeatRequests(b, "op-1")).length, 2);
      assert.deepEqual(await pendingOfSeat(a, "op-1"), []);
      assert.equal(
        await settleRequest(a, "op-1-ask-4", { ...reply, req_id: "op-1-ask-4" }, {
          instance: "a",
          client: null,
        }),
        undefined,
      );
    });
  },
});

Deno.test({
  name: "a role is held by one seat cluster-wide, and released when its seat is deleted",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(2, async ([a, b]) => {
      const seat = (sid: string, roles: string[]) => ({
        sid,
        token_hash: "h",
        roles,
        created_at: 1,
        last_seen_at: 1,
      });
      const results = await Promise.allSettled([
        insertSeat(a, seat("op-1", ["lead"])),
        insertSeat(b, seat("op-2", ["lead", "x"])),
        insertSeat(a, seat("op-3", ["lead"])),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1);
      for (const r of results) {
        if (r.status === "rejected") {
          assert.ok(isSwitchboardError(r.reason, "conflict"), String(r.reason));
          assert.deepEqual(r.reason.extra?.conflicts, ["lead"]);
        }
      }
      const holder = (await a`SELECT sid FROM sb_roles WHERE role = 'lead'`)[0].sid;
      assert.ok(await deleteSeatRow(b, holder));
      await insertSeat(a, seat("op-4", ["lead"]));

      assert.deepEqual(await claimSocket(a, "op-4", "i-a"), { epoch: 1, previous: null });
      assert.deepEqual(await claimSocket(b, "op-4", "i-b"), { epoch: 2, previous: "i-a" });
      await releaseSocket(a, "op-4", "i-a", 1, 5); // stale: i-b holds it now
      assert.equal((await getSeat(a, "op-4"))?.socket_instance, "i-b");
      // a socket that closed while it was claimed: rolled back, as if never claimed
      assert.equal(await claimSocket(a, "op-4", "i-a", () => false), undefined);
      const after = await getSeat(a, "op-4");
      assert.deepEqual([after?.socket_instance, after?.socket_epoch], ["i-b", 2]);
      // one that closed just after its commit gives the seat back
      assert.deepEqual(await claimSocket(a, "op-4", "i-a"), { epoch: 3, previous: "i-b" });
      await giveSocketBack(a, "op-4", "i-a", 3, "i-b");
      const back = await getSeat(a, "op-4");
      assert.deepEqual([back?.socket_instance, back?.socket_epoch], ["i-b", 4]);
      await releaseSocket(a, "op-4", "i-b", 2, 5); // stale: i-b holds it at 4
      await releaseSocket(b, "op-4", "i-b", 4, 5);
      assert.deepEqual(
        [(await getSeat(a, "op-4"))?.socket_instance, (await getSeat(a, "op-4"))?.last_seen_at],
        [null, 5],
      );
      assert.equal(await claimSocket(a, "op-gone", "i-a"), undefined);
    });
  },
});

Deno.test({
  name: "a scoped seat's roles are exclusive only within its scope, cluster-wide",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(2, async ([a, b]) => {
      const seat = (sid: string, scope?: { run_id: string } | { blueprint_id: string }) => ({
        sid,
        token_hash: "h",
        roles: ["lead"],
        created_at: 1,
        last_seen_at: 1,
        ...(scope ? { scope } : {}),
      });
      await insertSeat(a, seat("op-1"));
      await insertSeat(b, seat("op-2", { run_id: "run-1" }));
      await insertSeat(a, seat("op-3", { run_id: "run-2" }));
      await insertSeat(b, seat("op-4", { blueprint_id: "bp" }));
      for (const [sid, scope] of [["op-5", { run_id: "run-1" }], ["op-6", undefined]] as const) {
        await assert.rejects(insertSeat(a, seat(sid, scope)), (err) => {
          assert.ok(isSwitchboardError(err, "conflict"), String(err));
          assert.deepEqual(err.extra?.conflicts, ["lead"]);
          return true;
        });
      }
      assert.deepEqual((await getSeat(b, "op-2"))?.scope, { run_id: "run-1" });
    });
  },
});
