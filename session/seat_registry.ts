/**
 * The seat table's bookkeeping: a seat goes into the seat table and the face
 * registries at mint, under its sid and under each role alias (all three
 * faces); a scoped seat's roles go into its scope's table only. Also the checks
 * a new seat's roles must pass, and a seat's stored form.
 *
 * @module
 */
import { type FaceRegistries, scopeKey } from "../engine/faces.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { issueAt } from "../protocol/issues.ts";
import type { SeatScope } from "../protocol/operators.ts";
import type { SeatRecord } from "../store/seat_store.ts";
import type { Seat, SeatIdentity, SessionEnv } from "./seat.ts";

/** The longest role name, in UTF-16 code units (it becomes part of store keys). */
export const MAX_ROLE_LENGTH = 256;

/** What the seat functions need: the registries, the seat and role tables, the env. */
export interface SeatDeps extends FaceRegistries {
  /** sid → seat. */
  sessions: Map<string, Seat>;
  /** role → owning sid. */
  roles: Map<string, string>;
  sessionEnv: SessionEnv;
  /** Builds a seat object; a cluster builds its own kind. Default: a single-server seat. */
  newSession?: (identity: SeatIdentity) => Seat;
  /** In a cluster: loads a seat minted on another instance that this one has not seen yet. */
  loadSeat?: (sid: string) => Promise<void>;
  /** In a cluster: reads every seat again. */
  syncSeats?: () => Promise<void>;
  /**
   * In a cluster: a run ended. The seats of its requests forget it (and drop its
   * request rows); this covers a run whose requests all ended before it.
   */
  runEnded?: (runId: string) => void;
}

/** Puts a seat into the seat table and the face registries. */
export function register(deps: SeatDeps, session: Seat): void {
  deps.sessions.set(session.sid, session);
  deps.seniorBridges.set(session.sid, session);
  deps.spawnHooks.set(session.sid, session);
  deps.operators.set(session.sid, session);
  if (session.scope) {
    const key = scopeKey(session.scope);
    let table = deps.scopes.get(key);
    if (!table) deps.scopes.set(key, table = new Map());
    for (const role of session.roles) table.set(role, session);
    return;
  }
  // A role names its seat for every face: operator_ref, spawn_hook_id, senior_bridge_id.
  for (const role of session.roles) {
    deps.roles.set(role, session.sid);
    // a sid always wins over a role of the same name (one restored from old data)
    if (deps.sessions.has(role)) continue;
    deps.operators.set(role, session);
    deps.seniorBridges.set(role, session);
    deps.spawnHooks.set(role, session);
  }
}

/**
 * Throws `invalid` (422, with `issues` naming the role) for roles a seat may not
 * take; `at` is where role `i` sits in the request body (`roles[i]`).
 */
export function checkRoles(
  deps: SeatDeps,
  roles: string[],
  max: number,
  at: (i: number) => (string | number)[] = (i) => ["roles", i],
): void {
  const refuse = (path: (string | number)[], message: string): never => {
    throw new SwitchboardError("invalid", message, { extra: { issues: [issueAt(path, message)] } });
  };
  if (roles.length > max) {
    refuse(["roles"], `a seat holds at most ${max} roles, got ${roles.length}`);
  }
  roles.forEach((role, i) => {
    if (role.length > MAX_ROLE_LENGTH) {
      refuse(at(i), `a role is at most ${MAX_ROLE_LENGTH} characters`);
    }
    // sids are `op-<uuid>`: a role that looks like one could stand in for a seat
    if (role.startsWith("op-") || deps.sessions.has(role)) {
      refuse(at(i), `a role may not start with "op-": ${role}`);
    }
  });
}

/** Takes a seat out of the seat table and the face registries. */
export function unregister(deps: SeatDeps, session: Seat): void {
  const drop = <T>(map: Map<string, T>, name: string) => {
    if ((map.get(name) as unknown) === session) map.delete(name);
  };
  drop(deps.seniorBridges, session.sid);
  drop(deps.spawnHooks, session.sid);
  drop(deps.operators, session.sid);
  if (session.scope) {
    const key = scopeKey(session.scope);
    const table = deps.scopes.get(key);
    for (const role of session.roles) if (table) drop(table, role);
    if (table?.size === 0) deps.scopes.delete(key);
  } else {
    for (const role of session.roles) {
      drop(deps.operators, role);
      drop(deps.seniorBridges, role);
      drop(deps.spawnHooks, role);
    }
    // its own roles only (roles never change after mint): not a walk of every role held
    for (const role of session.roles) {
      if (deps.roles.get(role) === session.sid) deps.roles.delete(role);
    }
  }
  if (deps.sessions.get(session.sid) === session) deps.sessions.delete(session.sid);
}

/** The roles of `roles` already held in the scope a new seat would take. */
export function heldRoles(deps: SeatDeps, roles: readonly string[], scope?: SeatScope): string[] {
  if (!scope) return roles.filter((role) => deps.roles.has(role));
  const table = deps.scopes.get(scopeKey(scope));
  return roles.filter((role) => table?.has(role) === true);
}

/** The stored form of a seat. */
export function seatRecord(session: Seat): SeatRecord {
  const record: SeatRecord = {
    sid: session.sid,
    token_hash: session.tokenHash,
    roles: [...session.roles],
    created_at: session.createdAt,
    last_seen_at: session.lastSeenAt,
  };
  if (session.scope) record.scope = { ...session.scope };
  if (session.releaseAfterSecs !== undefined) record.release_after_secs = session.releaseAfterSecs;
  return record;
}
