/**
 * Cluster mode (`SWITCHBOARD_DATABASE_URL`): wires an instance into the
 * cluster after its deps are built. It seats every stored seat as a
 * {@link ClusterSession}, starts the request hub, beats (the lease of every run
 * it owns), claims the runs of dead instances and resumes them from their
 * journal, and stops a run it finds taken over by another instance.
 *
 * @module
 */
import type { AppDeps } from "./deps.ts";
import type { TokenRecord } from "./protocol/runs.ts";
import { SwitchboardError } from "./protocol/errors.ts";
import { ClusterSession } from "./session/cluster_session.ts";
import { createClusterHub } from "./session/cluster_hub.ts";
import { register, restoreSeats, unregister } from "./session/seats.ts";
import { type OpenPgStores, RUN_EVENTS_TOPIC } from "./store/open_pg_stores.ts";
import { beatEveryMs } from "./store/pg_instances.ts";
import { SEAT_TOPICS } from "./store/pg_seats.ts";
import { claimOrphanRuns } from "./store/pg_run_owner.ts";
import { sweepOrphanRequests } from "./store/pg_requests.ts";

/** Bus topic: cancel this run (its owner does). */
const CANCEL_TOPIC = "cancel_run";

/** How long `DELETE /v1/runs/:id` on a non-owner waits for the owner to end the run, beyond the lease. */
const CANCEL_WAIT_MS = 10_000;

/** How often a follower of a run owned elsewhere reads its events without a notification. */
const FOLLOW_POLL_MS = 1_000;

/** Bus topic: an instance follows this run's events (its owner notifies it of new ones). */
const FOLLOW_TOPIC = "follow_run";

/** How long a follow note holds; a follower says it again before then. */
const FOLLOW_HOLD_MS = 10_000;

/** A running cluster membership. */
export interface ClusterRuntime {
  /** Seats and runs found at start. */
  seats: number;
  runs: number;
  /** Claims orphaned runs now (also done on a timer); returns how many it resumed. */
  claim(): Promise<number>;
  stop(): Promise<void>;
}

/** Joins the cluster of `stores`; call once, after `createDeps`. */
export async function startClusterMode(
  deps: AppDeps,
  stores: OpenPgStores,
): Promise<ClusterRuntime> {
  const { cluster, runs } = stores;
  const { sql, instanceId, leaseSecs } = cluster;
  const log = deps.log;
  const hub = createClusterHub({
    sql,
    bus: cluster.bus,
    instanceId,
    runs,
    log,
    metrics: deps.metrics,
  });
  deps.newSession = (identity) => new ClusterSession(identity, deps.sessionEnv, hub, sql);
  deps.loadSeat = (sid) => hub.loadSeat(sid);
  deps.syncSeats = () => hub.syncSeats();
  deps.watchRemote = async (runId, after, { signal }) => {
    if (runs.epochOf(runId) !== undefined) return undefined; // owned here: the engine follows it
    const record = await runs.getRun(runId);
    if (!record || record.status !== "running") return undefined;
    return followRun(runId, after, signal);
  };

  // a worker route reached on an instance that does not own the worker's run: the owner answers
  deps.workerProxy = async (req) => {
    const bearer = req.headers.get("authorization")?.replace(/^Bearer\s+/i, "").trim();
    if (!bearer) return undefined;
    let nonce: string | undefined;
    if (!bearer.startsWith("wh-")) {
      try {
        nonce = deps.tokens.decode(bearer).nonce;
      } catch {
        return undefined; // the route answers it
      }
    }
    const [row] = nonce === undefined
      ? await sql`SELECT r.run_id, r.owner, r.status, i.url FROM sb_tokens t
          JOIN sb_runs r ON r.run_id = t.run_id LEFT JOIN sb_instances i ON i.id = r.owner
          WHERE t.handle = ${bearer}`
      : await sql`SELECT r.run_id, r.owner, r.status, i.url FROM sb_tokens t
          JOIN sb_runs r ON r.run_id = t.run_id LEFT JOIN sb_instances i ON i.id = r.owner
          WHERE t.nonce = ${nonce}`;
    if (!row || row.status !== "running" || row.owner === instanceId) return undefined;
    if (runs.epochOf(row.run_id) !== undefined || !row.url) return undefined;
    const target = new URL(req.url);
    const to = new URL(target.pathname + target.search, row.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    try {
      return await fetch(to, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
        redirect: "manual",
        signal: AbortSignal.timeout(30_000),
      });
    } catch {
      throw new SwitchboardError(
        "conflict",
        "the instance running this task did not answer; retry",
      );
    }
  };

  // DELETE /v1/runs/:id on an instance that does not own the run: its owner cancels it
  deps.cancelRemote = async (runId) => {
    if (runs.epochOf(runId) !== undefined) return undefined; // owned here: the engine cancels
    const record = await runs.getRun(runId);
    if (!record || record.status !== "running") return undefined;
    // kept on the row: a dead owner's successor cancels it after the takeover
    await sql`UPDATE sb_runs SET cancel_requested = true
      WHERE run_id = ${runId} AND status = 'running'`;
    await cluster.bus.publish(CANCEL_TOPIC, runId);
    const until = Date.now() + CANCEL_WAIT_MS + leaseSecs * 1000;
    while (Date.now() < until) {
      const now = await runs.getRun(runId);
      if (now && now.status !== "running") return await deps.engine.view(runId);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new SwitchboardError(
      "conflict",
      "the cancel is recorded; the run ends once its owner (or the instance taking it over) acts",
    );
  };
  cluster.bus.on(CANCEL_TOPIC, (runId) => {
    if (runs.epochOf(runId) !== undefined) deps.engine.cancel(runId).catch(() => {});
  });
  cluster.bus.on(FOLLOW_TOPIC, (runId) => {
    if (runs.epochOf(runId) !== undefined) runs.followed(runId, FOLLOW_HOLD_MS);
  });

  /** The stored events of a run owned elsewhere, as they are stored, until it ends. */
  async function* followRun(runId: string, after: number, signal: AbortSignal) {
    let last = after;
    let told = 0;
    while (!signal.aborted) {
      if (Date.now() - told > FOLLOW_HOLD_MS / 2) {
        // the owner notifies followed runs only
        told = Date.now();
        await cluster.bus.publish(FOLLOW_TOPIC, runId).catch(() => {});
      }
      // listen first, then read: a commit between the two still wakes the loop
      const woke = Promise.withResolvers<void>();
      // the id of a `run_events` note lists the runs, space separated
      const stop = cluster.bus.on(
        RUN_EVENTS_TOPIC,
        (ids) => ids.split(" ").includes(runId) && woke.resolve(),
      );
      const timer = setTimeout(woke.resolve, FOLLOW_POLL_MS);
      const onAbort = () => woke.resolve();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        for (const event of await runs.listEvents(runId, last)) {
          yield event;
          last = event.id;
          if (event.type === "run_ended") return;
        }
        await woke.promise;
      } finally {
        stop();
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      }
    }
  }

  const seats = await restoreSeats(deps);
  await hub.start({
    get: (sid) => deps.sessions.get(sid) as ClusterSession | undefined,
    add(row) {
      if (deps.sessions.has(row.sid)) return;
      register(
        deps,
        deps.newSession!({
          sid: row.sid,
          tokenHash: row.token_hash,
          roles: row.roles,
          createdAt: row.created_at,
          lastSeenAt: row.last_seen_at,
          scope: row.scope,
          releaseAfterSecs: row.release_after_secs,
        }),
      );
    },
    remove(sid) {
      const session = deps.sessions.get(sid);
      if (!session) return;
      unregister(deps, session);
      session.teardown();
    },
    sids: () => [...deps.sessions.keys()],
  });

  // a run this instance owned and lost: stop it here; its new owner goes on
  const lose = (runId: string) => {
    runs.disown(runId);
    log.warn("run taken over by another instance; stopped here", { run_id: runId });
    deps.engine.cancel(runId).catch(() => {}); // not live here any more: nothing to stop
  };
  cluster.onRunLost(lose);

  await cluster.join(
    () => ({
      runs: runs.owned().size,
      seats:
        [...deps.sessions.values()].filter((s) =>
          s instanceof ClusterSession && !s.closed && s.holdsSocket
        ).length,
    }),
    (err) => log.error("cluster heartbeat failed", { error: String(err) }),
  );

  let first = true;
  let claiming: Promise<number> = Promise.resolve(0);
  const claim = () =>
    claiming = claiming.then(async () => {
      // first pass: also the runs this id owned before a restart
      const claims = await claimOrphanRuns(sql, instanceId, leaseSecs, { own: first });
      first = false;
      await releaseDeadSockets();
      if (claims.length === 0) return 0;
      for (const c of claims) runs.own(c.run_id, c.epoch);
      const ids = claims.map((c) => c.run_id);
      await hub.preload(ids);
      // the workers of these runs hold tokens minted by the old owner
      const tokens = await sql`SELECT record FROM sb_tokens WHERE run_id = ANY(${ids})`;
      deps.tokens.adopt(tokens.map((t) => t.record as TokenRecord));
      const cancels = await sql`SELECT run_id FROM sb_runs
        WHERE run_id = ANY(${ids}) AND cancel_requested`;
      let resumed = 0;
      for (const c of claims) {
        const record = await runs.getRun(c.run_id);
        if (!record || record.status !== "running") continue;
        try {
          if (await deps.engine.resume(record)) resumed++;
        } catch (err) {
          log.error("run resume failed", { run_id: c.run_id, error: String(err) });
        }
      }
      for (const r of cancels) deps.engine.cancel(r.run_id).catch(() => {});
      log.info("claimed runs", { count: claims.length, resumed });
      return resumed;
    }).catch((err) => {
      log.error("claiming runs failed", { error: String(err) });
      return 0;
    });

  /**
   * Seats whose socket was held by a dead instance have no socket (its operator
   * reconnects elsewhere); a hook_after nobody delivered for a minute is dropped,
   * and so is a request whose run's row never landed.
   */
  const releaseDeadSockets = async () => {
    const freed = await sql`UPDATE sb_seats s SET socket_instance = NULL
      WHERE socket_instance IS NOT NULL AND socket_instance <> ${instanceId}
        AND NOT EXISTS (SELECT 1 FROM sb_instances i WHERE i.id = s.socket_instance
          AND i.heartbeat_at >= now() - make_interval(secs => ${leaseSecs}))
      RETURNING sid`;
    for (const r of freed) await cluster.bus.publish(SEAT_TOPICS.socket, r.sid);
    await sql`DELETE FROM sb_requests WHERE kind = 'ha' AND sent_at < ${Date.now() - 60_000}`;
    await sweepOrphanRequests(sql, Date.now() - 60_000);
  };

  /** Drops runs this instance believes it owns that have another owner or epoch now. */
  const verify = async () => {
    const owned = runs.owned();
    if (owned.size === 0) return;
    const rows = await sql`SELECT run_id, owner, epoch, status FROM sb_runs
      WHERE run_id = ANY(${[...owned.keys()]})`;
    for (const r of rows) {
      const mine = r.owner === instanceId && Number(r.epoch) === owned.get(r.run_id);
      if (!mine) lose(r.run_id);
      else if (r.status !== "running") runs.disown(r.run_id);
    }
  };

  const resumed = await claim();
  const every = beatEveryMs(leaseSecs);
  const timer = setInterval(() => {
    verify().catch((err) => log.error("cluster ownership check failed", { error: String(err) }))
      .then(() => claim());
  }, every);

  return {
    seats,
    runs: resumed,
    claim,
    async stop() {
      clearInterval(timer);
      await claiming;
      hub.stop();
    },
  };
}
