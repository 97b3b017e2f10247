/**
 * Run ownership in a cluster. Each running run has one owner (an instance id)
 * and an epoch. The owner's lease is its instance heartbeat (store/pg_instances.ts):
 * a run whose owner has not beaten for the lease, or has left, is claimed by
 * another instance (`FOR UPDATE SKIP LOCKED`, so claimers never take the same
 * run twice), which bumps its epoch. Every write of a run is fenced by the
 * epoch the writer holds, so an old owner that was paused or cut off can never
 * write again once the run was taken over.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { Sql, TxSql } from "./pg_sql.ts";

/** A run this instance owns, with the epoch its writes are fenced by. */
export interface RunClaim {
  run_id: string;
  epoch: number;
}

/** Thrown by a fenced write whose epoch is no longer the run's: the run has a new owner. */
export class FencedError extends SwitchboardError {
  readonly runId: string;
  constructor(runId: string) {
    super("conflict", `run ${runId} is owned by another instance`);
    this.name = "FencedError";
    this.runId = runId;
  }
}

/** Options of {@link claimOrphanRuns}. */
export interface ClaimOptions {
  /** Most runs claimed by one call. Default 100. */
  limit?: number;
  /**
   * Also claim the runs still owned by `instanceId` itself: a process that boots
   * under the id of one that died. Default false.
   */
  own?: boolean;
}

/**
 * Claims up to `limit` running runs whose owner is dead (no heartbeat within
 * `leaseSecs`, or no row at all), and returns them with their new epochs,
 * oldest first.
 */
export async function claimOrphanRuns(
  sql: Sql,
  instanceId: string,
  leaseSecs: number,
  options: ClaimOptions = {},
): Promise<RunClaim[]> {
  const { limit = 100, own = false } = options;
  const rows = await sql`
    WITH orphans AS (
      SELECT r.run_id FROM sb_runs r
      WHERE r.status = 'running'
        AND CASE WHEN r.owner = ${instanceId} THEN ${own}
          ELSE NOT EXISTS (SELECT 1 FROM sb_instances i WHERE i.id = r.owner
            AND i.heartbeat_at >= now() - make_interval(secs => ${leaseSecs})) END
      ORDER BY r.created_at
      LIMIT ${limit}
      FOR UPDATE OF r SKIP LOCKED)
    UPDATE sb_runs r SET owner = ${instanceId}, epoch = r.epoch + 1
    FROM orphans o WHERE r.run_id = o.run_id
    RETURNING r.run_id, r.epoch, r.created_at`;
  return rows
    .map((r) => ({ run_id: r.run_id as string, epoch: Number(r.epoch), at: Number(r.created_at) }))
    .sort((a, b) => a.at - b.at)
    .map(({ run_id, epoch }) => ({ run_id, epoch }));
}

/**
 * Holds the run's row for the rest of the transaction if `claim` is still
 * current (a claimer waits until the transaction ends); throws
 * {@link FencedError} when it is not.
 */
export async function fence(tx: TxSql, claim: RunClaim): Promise<void> {
  const rows = await tx`SELECT 1 FROM sb_runs
    WHERE run_id = ${claim.run_id} AND epoch = ${claim.epoch} FOR SHARE`;
  if (rows.length === 0) throw new FencedError(claim.run_id);
}

/** Runs `write` in one transaction fenced by `claim`. */
export async function fencedWrite<T>(
  sql: Sql,
  claim: RunClaim,
  write: (tx: TxSql) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    await fence(tx, claim);
    return await write(tx);
  }) as T;
}

/** Running runs per owner (the doctor's view). */
export async function runsByOwner(sql: Sql): Promise<Map<string, number>> {
  const rows = await sql`SELECT owner, count(*)::int AS n FROM sb_runs
    WHERE status = 'running' GROUP BY owner`;
  return new Map(rows.map((r) => [r.owner as string, r.n as number]));
}
