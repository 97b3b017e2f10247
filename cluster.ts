/**
 * Cluster mode (`SWITCHBOARD_DATABASE_URL`): wires an instance into the
 * cluster after its deps are built. It seats every stored seat as a
 * {@link ClusterSeat}, starts the request hub, answers for runs owned
 * elsewhere (cluster/remote.ts), beats (the lease of every run it owns), claims
 * the runs of dead instances and stops a run it finds taken over by another
 * instance (cluster/claims.ts).
 *
 * @module
 */
import type { AppDeps } from "./deps.ts";
import { ClusterSeat } from "./session/cluster_seat.ts";
import { createClusterHub } from "./session/cluster_hub.ts";
import { serveRemoteRuns } from "./cluster/remote.ts";
import { createClaims } from "./cluster/claims.ts";
import { register, restoreSeats, unregister } from "./session/seats.ts";
import type { OpenPgStores } from "./store/open_pg_stores.ts";
import { beatEveryMs } from "./store/pg_instances.ts";

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
    localGraceMs: deps.config.clusterGraceMs,
  });
  deps.newSession = (identity) => new ClusterSeat(identity, deps.sessionEnv, hub, sql);
  deps.loadSeat = (sid) => hub.loadSeat(sid);
  deps.syncSeats = () => hub.syncSeats();
  deps.runEnded = (runId) => hub.runEnded(runId);
  let claimed = (): Promise<unknown> => Promise.resolve();
  serveRemoteRuns(deps, stores, () => claimed());
  const seats = await restoreSeats(deps);
  await hub.start({
    get: (sid) => {
      const seat = deps.sessions.get(sid);
      return seat instanceof ClusterSeat ? seat : undefined;
    },
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
    deps.engine.cancel(runId)
      .catch(() => {}) // not live here any more: nothing to stop
      .finally(() => hub.runLost(runId)); // (a run that was live ended above, as any run)
  };
  cluster.onRunLost(lose);

  await cluster.join(
    () => ({
      runs: runs.owned().size,
      seats:
        [...deps.sessions.values()].filter((s) =>
          s instanceof ClusterSeat && !s.closed && s.holdsSocket
        ).length,
    }),
    (err) => log.error("cluster heartbeat failed", { error: String(err) }),
  );

  const { claim, verify, settled } = createClaims(deps, stores, hub, lose);
  claimed = settled;
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
      await settled();
      hub.stop();
    },
  };
}
