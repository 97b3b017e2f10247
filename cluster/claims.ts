/**
 * Run ownership over time, for one cluster instance: claiming the runs of dead
 * instances (and, at boot, the runs its own id held before a restart) and
 * resuming them from their journal; dropping runs it finds taken over; freeing
 * the seats whose socket a dead instance held; sweeping rows left behind.
 *
 * @module
 */
import type { AppDeps } from "../deps.ts";
import type { TokenRecord } from "../protocol/runs.ts";
import type { ClusterHub } from "../session/cluster_hub.ts";
import type { OpenPgStores } from "../store/open_pg_stores.ts";
import { claimOrphanRuns } from "../store/pg_run_owner.ts";
import { SEAT_TOPICS } from "../store/pg_seats.ts";

/** Claims and checks the runs of the cluster of `stores`; `lose` stops a run taken over. */
export function createClaims(
  deps: AppDeps,
  stores: OpenPgStores,
  hub: ClusterHub,
  lose: (runId: string) => void,
) {
  const { cluster, runs } = stores;
  const { sql, instanceId, leaseSecs } = cluster;
  const log = deps.log;

  let first = true;
  let claiming: Promise<number> = Promise.resolve(0);
  /** Claims orphaned runs now; resolves with how many it resumed. */
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
   * reconnects elsewhere); a hook_after nobody delivered for a minute is dropped.
   */
  const releaseDeadSockets = async () => {
    const freed = await sql`UPDATE sb_seats s SET socket_instance = NULL
      WHERE socket_instance IS NOT NULL AND socket_instance <> ${instanceId}
        AND NOT EXISTS (SELECT 1 FROM sb_instances i WHERE i.id = s.socket_instance
          AND i.heartbeat_at >= now() - make_interval(secs => ${leaseSecs}))
      RETURNING sid`;
    for (const r of freed) await cluster.bus.publish(SEAT_TOPICS.socket, r.sid);
    await sql`DELETE FROM sb_requests WHERE kind = 'ha' AND sent_at < ${Date.now() - 60_000}`;
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

  return {
    claim,
    verify,
    /** Resolves once the claim in progress (if any) is done. */
    settled: () => claiming,
  };
}
