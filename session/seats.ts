/**
 * The seat table: minting, authorizing, tearing down, restoring and expiring
 * operator seats. A seat is registered in the face registries at mint, under its
 * sid (all three) and under each role alias (operators only).
 *
 * @module
 */
import { customAlphabet } from "nanoid";
import type { FaceRegistries } from "../engine/faces.ts";
import { sha256Hex, timingSafeEqual } from "../engine/crypto.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { MintedOperator } from "../protocol/operators.ts";
import type { RequestRecord } from "../protocol/runs.ts";
import { OperatorSession, type SessionEnv } from "./operator_session.ts";
import { bearerOf } from "../protocol/bearer.ts";

/** What the seat functions need: the registries, the seat and role tables, the env. */
export interface SeatDeps extends FaceRegistries {
  /** sid → session. */
  sessions: Map<string, OperatorSession>;
  /** role → owning sid. */
  roles: Map<string, string>;
  sessionEnv: SessionEnv;
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

function register(deps: SeatDeps, session: OperatorSession): void {
  deps.sessions.set(session.sid, session);
  deps.seniorBridges.set(session.sid, session);
  deps.spawnHooks.set(session.sid, session);
  deps.operators.set(session.sid, session);
  for (const role of session.roles) {
    deps.roles.set(role, session.sid);
    // a sid always wins over a role of the same name (one restored from old data)
    if (!deps.sessions.has(role)) deps.operators.set(role, session);
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

function unregister(deps: SeatDeps, session: OperatorSession): void {
  const drop = <T>(map: Map<string, T>, name: string) => {
    if ((map.get(name) as unknown) === session) map.delete(name);
  };
  drop(deps.seniorBridges, session.sid);
  drop(deps.spawnHooks, session.sid);
  drop(deps.operators, session.sid);
  for (const role of session.roles) drop(deps.operators, role);
  for (const [role, sid] of deps.roles) if (sid === session.sid) deps.roles.delete(role);
  if (deps.sessions.get(session.sid) === session) deps.sessions.delete(session.sid);
}

/**
 * Mints a seat. Throws `SwitchboardError`: `conflict` (with `conflicts`) when a
 * requested role is held, `invalid` for a role that is too long, starts with
 * `op-` or is one too many, and `too_many_requests` when the seat cap is reached.
 */
export async function mintSeat(
  deps: SeatDeps,
  roles: string[],
  limits: SeatLimits = {},
): Promise<MintedOperator> {
  const { maxSeats, maxRolesPerSeat } = { ...SEAT_LIMITS, ...limits };
  checkRoles(deps, roles, maxRolesPerSeat);
  const token = newToken();
  const tokenHash = await sha256Hex(token);
  // Conflicts are checked after the only await, so the check and the
  // reservation happen in one synchronous step.
  const conflicts = roles.filter((role) => deps.roles.has(role));
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
  const session = new OperatorSession(
    { sid: `op-${crypto.randomUUID()}`, tokenHash, roles, createdAt: now, lastSeenAt: now },
    deps.sessionEnv,
  );
  register(deps, session);
  try {
    await deps.sessionEnv.store.putSeat({
      sid: session.sid,
      token_hash: tokenHash,
      roles: [...roles],
      created_at: now,
      last_seen_at: now,
    });
  } catch (err) {
    unregister(deps, session); // no seat in memory that the store does not have
    throw err;
  }
  deps.sessionEnv.log.info("operator minted", { sid: session.sid, roles });
  return { sid: session.sid, token, roles };
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
): Promise<OperatorSession> {
  if (token === null) throw new SwitchboardError("unauthorized", "missing or empty Bearer token");
  const session = deps.sessions.get(sid);
  if (!session) throw new SwitchboardError("not_found", "unknown sid");
  if (!timingSafeEqual(await sha256Hex(token), session.tokenHash)) {
    throw new SwitchboardError("unauthorized", "token mismatch");
  }
  return session;
}

/** Tears a seat down: 4001 to its socket, pending requests fail, roles released. */
export async function deleteSeat(deps: SeatDeps, session: OperatorSession, why: string) {
  unregister(deps, session);
  session.teardown();
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

/** Loads stored seats into the tables (at boot; their requests come back with their runs). */
export async function restoreSeats(deps: SeatDeps): Promise<number> {
  const { store } = deps.sessionEnv;
  for (const seat of await store.listSeats()) {
    register(
      deps,
      new OperatorSession({
        sid: seat.sid,
        tokenHash: seat.token_hash,
        roles: seat.roles,
        createdAt: seat.created_at,
        lastSeenAt: seat.last_seen_at,
      }, deps.sessionEnv),
    );
  }
  return deps.sessions.size;
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
