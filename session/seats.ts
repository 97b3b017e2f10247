/**
 * The seat table: minting, authorizing, tearing down, restoring and expiring
 * operator seats. A seat is registered in the face registries at mint, under its
 * sid and under each role alias (all three faces); a scoped seat's roles go into
 * its scope's table only.
 *
 * @module
 */
import { customAlphabet } from "nanoid";
import { type FaceRegistries, scopeKey } from "../engine/faces.ts";
import { sha256Hex, timingSafeEqual } from "../engine/crypto.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { MintedOperator, SeatScope } from "../protocol/operators.ts";
import type { RequestRecord } from "../protocol/runs.ts";
import type { SeatRecord } from "../store/seat_store.ts";
import { OperatorSession } from "./operator_session.ts";
import type { Seat, SeatIdentity, SessionEnv } from "./seat.ts";
import { bearerOf } from "../protocol/bearer.ts";

/** What the seat functions need: the registries, the seat and role tables, the env. */
export interface SeatDeps extends FaceRegistries {
  /** sid → seat. */
  sessions: Map<string, Seat>;
  /** role → owning sid. */
  roles: Map<string, string>;
  sessionEnv: SessionEnv;
  /** Builds a seat object; a cluster builds its own kind. Default: an {@link OperatorSession}. */
  newSession?: (identity: SeatIdentity) => Seat;
  /** In a cluster: loads a seat minted on another instance that this one has not seen yet. */
  loadSeat?: (sid: string) => Promise<void>;
  /** In a cluster: reads every seat again. */
  syncSeats?: () => Promise<void>;
}

function makeSession(deps: SeatDeps, identity: SeatIdentity): Seat {
  return deps.newSession?.(identity) ?? new OperatorSession(identity, deps.sessionEnv);
}

/** 32 characters of a 64-letter alphabet: 192 random bits. */
const newToken = customAlphabet(
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-",
  32,
);

/** Limits of {@link mintSeat}. */
export interface SeatLimits {
  /** Seats held at once (`SWITCHBOARD_MAX_SEATS`, 100,000); more answer 429. */
  maxSeats?: number;
  /** Roles of one seat (`SWITCHBOARD_MAX_ROLES_PER_SEAT`, 64). */
  maxRolesPerSeat?: number;
}

/** The default {@link SeatLimits}. */
export const SEAT_LIMITS: Required<SeatLimits> = { maxSeats: 100_000, maxRolesPerSeat: 64 };
/** The longest role name, in UTF-16 code units (it becomes part of store keys). */
export const MAX_ROLE_LENGTH = 256;

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

/** Throws `invalid` (422) for roles a seat may not take. */
function checkRoles(deps: SeatDeps, roles: string[], max: number): void {
  if (roles.length > max) {
    throw new SwitchboardError("invalid", `a seat holds at most ${max} roles, got ${roles.length}`);
  }
  for (const role of roles) {
    if (role.length > MAX_ROLE_LENGTH) {
      throw new SwitchboardError("invalid", `a role is at most ${MAX_ROLE_LENGTH} characters`);
    }
    // sids are `op-<uuid>`: a role that looks like one could stand in for a seat
    if (role.startsWith("op-") || deps.sessions.has(role)) {
      throw new SwitchboardError("invalid", `a role may not start with "op-": ${role}`);
    }
  }
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
    for (const [role, sid] of deps.roles) if (sid === session.sid) deps.roles.delete(role);
  }
  if (deps.sessions.get(session.sid) === session) deps.sessions.delete(session.sid);
}

/** The roles of `roles` already held in the scope a new seat would take. */
function heldRoles(deps: SeatDeps, roles: readonly string[], scope?: SeatScope): string[] {
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

/** What a seat is minted with besides its roles. */
export interface MintSeatOptions {
  /** The seat cap and roles per seat (default {@link SEAT_LIMITS}). */
  limits?: SeatLimits;
  /** Roles count only within this scope. */
  scope?: SeatScope;
  /** Free the seat this many seconds after its socket closes (release_on_close). */
  releaseAfterSecs?: number;
}

/** The default `grace_secs` of a `release_on_close` seat. */
export const DEFAULT_GRACE_SECS = 30;

/**
 * Mints a seat. Throws `SwitchboardError`: `conflict` (with `conflicts`) when a
 * requested role is held (in the seat's scope, for a scoped seat), `invalid` for
 * a role that is too long, starts with `op-` or is one too many, and
 * `too_many_requests` when the seat cap is reached.
 */
export async function mintSeat(
  deps: SeatDeps,
  roles: string[],
  options: MintSeatOptions = {},
): Promise<MintedOperator> {
  const { maxSeats, maxRolesPerSeat } = { ...SEAT_LIMITS, ...options.limits };
  checkRoles(deps, roles, maxRolesPerSeat);
  const token = newToken();
  const tokenHash = await sha256Hex(token);
  // Conflicts are checked after the only await, so the check and the
  // reservation happen in one synchronous step.
  const conflicts = heldRoles(deps, roles, options.scope);
  if (conflicts.length > 0) {
    throw new SwitchboardError("conflict", "roles conflict", { extra: { conflicts } });
  }
  if (deps.sessions.size >= maxSeats) {
    throw new SwitchboardError(
      "too_many_requests",
      `the server holds its maximum of ${maxSeats} seats (SWITCHBOARD_MAX_SEATS); delete one first`,
      { headers: { "Retry-After": "60" } },
    );
  }
  const now = deps.sessionEnv.now();
  const session = makeSession(deps, {
    sid: `op-${crypto.randomUUID()}`,
    tokenHash,
    roles,
    createdAt: now,
    lastSeenAt: now,
    scope: options.scope,
    releaseAfterSecs: options.releaseAfterSecs,
  });
  register(deps, session);
  try {
    await deps.sessionEnv.store.putSeat(seatRecord(session));
  } catch (err) {
    // no seat in memory that the store does not have (a cluster's store refuses a
    // role held on another instance)
    unregister(deps, session);
    throw err;
  }
  deps.sessionEnv.log.info("operator minted", { sid: session.sid, roles, scope: options.scope });
  const minted: MintedOperator = { sid: session.sid, token, roles };
  if (options.scope) minted.scope = options.scope;
  return minted;
}

/** The bearer token of an `Authorization` header, or null (parser O). */
export function operatorBearer(header: string | undefined | null): string | null {
  return bearerOf(header);
}

/**
 * Finds the seat for `sid` and checks its token, in the 0.1.2 order: a missing
 * token is 401, an unknown sid 404, a wrong token 401.
 */
export async function authorizeSeat(
  deps: SeatDeps,
  sid: string,
  token: string | null,
  options: { apiToken?: string } = {},
): Promise<Seat> {
  if (token === null) throw new SwitchboardError("unauthorized", "missing or empty Bearer token");
  if (!deps.sessions.has(sid)) await deps.loadSeat?.(sid);
  const session = deps.sessions.get(sid);
  if (!session) throw new SwitchboardError("not_found", "unknown sid");
  // The API token may read and delete any seat (an admin whose seat token is lost).
  if (options.apiToken !== undefined && timingSafeEqual(token, options.apiToken)) return session;
  if (!timingSafeEqual(await sha256Hex(token), session.tokenHash)) {
    throw new SwitchboardError("unauthorized", "token mismatch");
  }
  return session;
}

/** Tears a seat down: 4001 to its socket, pending requests fail, roles released. */
export async function deleteSeat(
  deps: SeatDeps,
  session: Seat,
  why: "deleted" | "idle" | "released" | "run ended",
) {
  unregister(deps, session);
  clearTimeout(releaseTimers.get(session));
  releaseTimers.delete(session);
  session.teardown(why === "idle" ? "expired" : "deleted");
  await deps.sessionEnv.store.deleteSeat(session.sid);
  deps.sessionEnv.log.info("operator deleted", { sid: session.sid, why });
}

/** Hands the requests of a resumed run back to their seats (at boot). */
export function restoreRequests(
  deps: Pick<SeatDeps, "sessions">,
  requests: Iterable<RequestRecord>,
): void {
  for (const request of requests) deps.sessions.get(request.sid)?.restore(request);
}

/** Makes the seats that held requests of an ended run forget them. */
export function forgetRunRequests(
  deps: Pick<SeatDeps, "sessions">,
  runId: string,
  sids: Iterable<string>,
): void {
  for (const sid of sids) deps.sessions.get(sid)?.forgetRun(runId);
}

/** Deletes the seats scoped to run `runId` (the run has ended). */
export async function releaseRunSeats(deps: SeatDeps, runId: string): Promise<void> {
  const ofRun = [...deps.sessions.values()].filter((s) =>
    s.scope !== undefined && "run_id" in s.scope && s.scope.run_id === runId
  );
  for (const session of ofRun) await deleteSeat(deps, session, "run ended");
}

/** Deletes the seats scoped to a run that is not among `running` (at boot). */
export async function releaseSeatsOfEndedRuns(
  deps: SeatDeps,
  running: ReadonlySet<string>,
): Promise<void> {
  const stale = [...deps.sessions.values()].filter((s) =>
    s.scope !== undefined && "run_id" in s.scope && !running.has(s.scope.run_id)
  );
  for (const session of stale) await deleteSeat(deps, session, "run ended");
}

/** Loads stored seats into the tables (at boot; their requests come back with their runs). */
export async function restoreSeats(deps: SeatDeps): Promise<number> {
  const { store } = deps.sessionEnv;
  for (const seat of await store.listSeats()) {
    register(
      deps,
      makeSession(deps, {
        sid: seat.sid,
        tokenHash: seat.token_hash,
        roles: seat.roles,
        createdAt: seat.created_at,
        lastSeenAt: seat.last_seen_at,
        scope: seat.scope,
        releaseAfterSecs: seat.release_after_secs,
      }),
    );
  }
  // A release_on_close seat has no socket after a restart: its grace starts now,
  // and lasts at least the default, so its client has time to reconnect.
  for (const session of deps.sessions.values()) {
    const secs = session.releaseAfterSecs;
    if (secs !== undefined) scheduleRelease(deps, session, Math.max(secs, DEFAULT_GRACE_SECS));
  }
  return deps.sessions.size;
}

/** Seat tables of servers that are stopping: their seats are not released any more. */
const stopped = new WeakSet<Map<string, Seat>>();

/** Pending release timers of `release_on_close` seats whose socket closed. */
const releaseTimers = new WeakMap<Seat, ReturnType<typeof setTimeout>>();

/**
 * Called when a seat's socket closed: a `release_on_close` seat is deleted when
 * no new socket came within its grace and it has nothing pending (else the grace
 * starts again).
 */
export function scheduleRelease(
  deps: SeatDeps,
  session: Seat,
  afterSecs = session.releaseAfterSecs,
): void {
  const secs = session.releaseAfterSecs;
  if (secs === undefined || afterSecs === undefined || session.closed || session.connected) return;
  if (stopped.has(deps.sessions)) return; // shutting down: the seat's grace starts at the next boot
  clearTimeout(releaseTimers.get(session));
  releaseTimers.set(
    session,
    setTimeout(() => {
      releaseTimers.delete(session);
      if (session.closed || session.connected) return;
      if (session.pendingCount > 0) return scheduleRelease(deps, session, Math.max(1, secs));
      deleteSeat(deps, session, "released").catch((err) =>
        deps.sessionEnv.log.error("seat release failed", { sid: session.sid, error: String(err) })
      );
    }, afterSecs * 1000),
  );
}

/**
 * Cancels every release timer and arms no new one (a server that stops: sockets
 * closed by the shutdown must not free their seats; the next boot starts their
 * grace again).
 */
export function stopReleases(deps: SeatDeps): void {
  stopped.add(deps.sessions);
  for (const session of deps.sessions.values()) {
    clearTimeout(releaseTimers.get(session));
    releaseTimers.delete(session);
  }
}

/** Deletes every seat without a live socket whose last activity is older than `idleMs`. */
export async function sweepIdleSeats(deps: SeatDeps, idleMs: number): Promise<string[]> {
  const now = deps.sessionEnv.now();
  const expired = [...deps.sessions.values()].filter((s) =>
    !s.connected && now - s.lastSeenAt >= idleMs
  );
  for (const session of expired) await deleteSeat(deps, session, "idle");
  return expired.map((s) => s.sid);
}
