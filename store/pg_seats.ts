/**
 * Operator seats as rows, shared by the cluster: a seat minted on one instance
 * is known to all; a role is held by one seat cluster-wide (the primary key of
 * `sb_roles`); the socket of a seat is held by one instance at a time
 * (`socket_instance`, with an epoch so the older holder knows it was replaced).
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { SeatRecord } from "./seat_store.ts";
import type { Sql } from "./pg_sql.ts";

/** Bus topics: a seat changed (minted, deleted), was deleted by the idle sweep, or its socket moved. */
export const SEAT_TOPICS = { changed: "seat", expired: "seat_expired", socket: "seat_socket" };

/** A seat row: the record, and where its socket is. */
export interface SeatRow extends SeatRecord {
  socket_instance: string | null;
  socket_epoch: number;
}

// deno-lint-ignore no-explicit-any
function toRow(r: any): SeatRow {
  return {
    sid: r.sid,
    token_hash: r.token_hash,
    roles: r.roles,
    created_at: Number(r.created_at),
    last_seen_at: Number(r.last_seen_at),
    socket_instance: r.socket_instance,
    socket_epoch: Number(r.socket_epoch),
    ...(r.scope === null ? {} : { scope: r.scope }),
    ...(r.release_after_secs === null ? {} : { release_after_secs: r.release_after_secs }),
  };
}

/**
 * Inserts a seat and takes its roles in one transaction. Throws
 * `SwitchboardError` (`conflict`, `roles conflict` with `conflicts`) when a role
 * is held by another seat, anywhere in the cluster.
 */
export async function insertSeat(sql: Sql, seat: SeatRecord): Promise<void> {
  // A scoped seat's roles are exclusive only within its scope: their rows are
  // keyed under it (an `op-` prefix no unscoped role may have).
  const prefix = seat.scope === undefined
    ? ""
    : "run_id" in seat.scope
    ? `op-scope:run:${seat.scope.run_id}:`
    : `op-scope:bp:${seat.scope.blueprint_id}:`;
  const roles = [...new Set(seat.roles)].map((role) => prefix + role);
  try {
    await sql.begin(async (tx) => {
      if (roles.length > 0) {
        const held = await tx`SELECT role FROM sb_roles WHERE role = ANY(${roles}) FOR SHARE`;
        if (held.length > 0) throw rolesConflict(held.map((r) => r.role), prefix);
      }
      await tx`INSERT INTO sb_seats
          (sid, token_hash, roles, created_at, last_seen_at, scope, release_after_secs)
        VALUES (${seat.sid}, ${seat.token_hash}, ${tx.json(seat.roles)}, ${seat.created_at},
          ${seat.last_seen_at}, ${seat.scope ? tx.json(seat.scope) : null},
          ${seat.release_after_secs ?? null})`;
      for (const role of roles) {
        await tx`INSERT INTO sb_roles (role, sid) VALUES (${role}, ${seat.sid})`;
      }
    });
  } catch (err) {
    // two mints racing for one role: the loser hits the primary key
    if ((err as { code?: string }).code === "23505" && roles.length > 0) {
      const held = await sql`SELECT role FROM sb_roles WHERE role = ANY(${roles})`;
      throw rolesConflict(held.map((r) => r.role), prefix);
    }
    throw err;
  }
}

function rolesConflict(held: string[], prefix = ""): SwitchboardError {
  const conflicts = held.map((role) => role.slice(prefix.length));
  return new SwitchboardError("conflict", "roles conflict", { extra: { conflicts } });
}

/** One seat, or undefined. */
export async function getSeat(sql: Sql, sid: string): Promise<SeatRow | undefined> {
  const [row] = await sql`SELECT * FROM sb_seats WHERE sid = ${sid}`;
  return row ? toRow(row) : undefined;
}

/** Every seat, sorted by sid. */
export async function listSeatRows(sql: Sql): Promise<SeatRow[]> {
  const rows = await sql`SELECT * FROM sb_seats ORDER BY sid COLLATE "C"`;
  return rows.map(toRow);
}

/** Deletes a seat and releases its roles; true when it existed. */
export async function deleteSeatRow(sql: Sql, sid: string): Promise<boolean> {
  const rows = await sql`DELETE FROM sb_seats WHERE sid = ${sid} RETURNING sid`;
  return rows.length === 1;
}

/** A socket claim: its epoch and the instance that held the seat's socket before. */
export interface SocketClaim {
  epoch: number;
  previous: string | null;
}

/** Thrown inside a claim's transaction to roll it back. */
const SOCKET_GONE = new Error("socket closed during its claim");

/**
 * Makes `instanceId` the holder of the seat's socket and returns the new socket
 * epoch with the holder before (undefined when the seat is gone, or when `live`
 * says the socket closed while it was claimed: the claim is rolled back, so no
 * other instance ever reads it). An older holder sees the bigger epoch and
 * closes its socket with 4000 `replaced`.
 */
export async function claimSocket(
  sql: Sql,
  sid: string,
  instanceId: string,
  live: () => boolean = () => true,
): Promise<SocketClaim | undefined> {
  try {
    return await sql.begin(async (tx) => {
      const rows = await tx`WITH old AS (
          SELECT sid, socket_instance FROM sb_seats WHERE sid = ${sid} FOR UPDATE
        )
        UPDATE sb_seats s
        SET socket_instance = ${instanceId}, socket_epoch = s.socket_epoch + 1
        FROM old WHERE s.sid = old.sid
        RETURNING s.socket_epoch, old.socket_instance AS previous`;
      if (rows.length !== 1) return undefined;
      if (!live()) throw SOCKET_GONE;
      return { epoch: Number(rows[0].socket_epoch), previous: rows[0].previous ?? null };
    });
  } catch (err) {
    if (err === SOCKET_GONE) return undefined;
    throw err;
  }
}

/**
 * Gives the seat's socket back to `previous` (at a new epoch) if `instanceId`
 * still holds it at `epoch`: a claim that landed after its socket had closed
 * must not take the seat from a newer socket elsewhere.
 */
export async function giveSocketBack(
  sql: Sql,
  sid: string,
  instanceId: string,
  epoch: number,
  previous: string | null,
): Promise<void> {
  await sql`UPDATE sb_seats SET socket_instance = ${previous}, socket_epoch = socket_epoch + 1
    WHERE sid = ${sid} AND socket_instance = ${instanceId} AND socket_epoch = ${epoch}`;
}

/** Clears the socket holder if it is still `instanceId` at `epoch` (the socket closed). */
export async function releaseSocket(
  sql: Sql,
  sid: string,
  instanceId: string,
  epoch: number,
  lastSeenAt: number,
): Promise<void> {
  await sql`UPDATE sb_seats SET socket_instance = NULL, last_seen_at = ${lastSeenAt}
    WHERE sid = ${sid} AND socket_instance = ${instanceId} AND socket_epoch = ${epoch}`;
}

/** Seats whose socket an instance holds, by instance (the doctor's view). */
export async function seatsByInstance(sql: Sql): Promise<Map<string, number>> {
  const rows = await sql`SELECT socket_instance AS id, count(*)::int AS n FROM sb_seats
    WHERE socket_instance IS NOT NULL GROUP BY socket_instance`;
  return new Map(rows.map((r) => [r.id as string, r.n as number]));
}
