/**
 * The seat table: minting, authorizing, tearing down, restoring and expiring
 * operator seats. The one door to it: the table's bookkeeping is in
 * session/seat_registry.ts and how seats end in session/seat_release.ts, both
 * exported from here too.
 *
 * @module
 */
import { customAlphabet } from "nanoid";
import { sha256Hex, timingSafeEqual } from "../engine/crypto.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { MintedOperator, SeatScope } from "../protocol/operators.ts";
import type { RequestRecord } from "../protocol/runs.ts";
import { OperatorSession } from "./operator_session.ts";
import type { Seat, SeatIdentity } from "./seat.ts";
import { bearerOf } from "../protocol/bearer.ts";
import {
  checkRoles,
  heldRoles,
  register,
  type SeatDeps,
  seatRecord,
  unregister,
} from "./seat_registry.ts";
import { DEFAULT_GRACE_SECS, scheduleRelease } from "./seat_release.ts";

export {
  MAX_ROLE_LENGTH,
  register,
  type SeatDeps,
  seatRecord,
  unregister,
} from "./seat_registry.ts";
export {
  DEFAULT_GRACE_SECS,
  deleteSeat,
  releaseRunSeats,
  releaseSeatsOfEndedRuns,
  scheduleRelease,
  stopReleases,
  sweepIdleSeats,
} from "./seat_release.ts";

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
  /**
   * Roles held by all seats together (`SWITCHBOARD_MAX_ROLES`, 524,288: about
   * 400 MB at 256 characters each); more answer 429.
   */
  maxRoles?: number;
}

/** The default {@link SeatLimits}. */
export const SEAT_LIMITS: Required<SeatLimits> = {
  maxSeats: 100_000,
  maxRolesPerSeat: 64,
  maxRoles: 524_288,
};

/** What a seat is minted with besides its roles. */
export interface MintSeatOptions {
  /** The seat cap and roles per seat (default {@link SEAT_LIMITS}). */
  limits?: SeatLimits;
  /** Roles count only within this scope. */
  scope?: SeatScope;
  /** Free the seat this many seconds after its socket closes (release_on_close). */
  releaseAfterSecs?: number;
  /** Where role `i` sits in the request body, for `issues` (default `roles[i]`). */
  rolePath?: (i: number) => (string | number)[];
}

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
  const { maxSeats, maxRolesPerSeat, maxRoles } = { ...SEAT_LIMITS, ...options.limits };
  checkRoles(deps, roles, maxRolesPerSeat, options.rolePath);
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
  // (a scoped seat's roles live in its run's table, and it counts as a seat)
  if (!options.scope && deps.roles.size + roles.length > maxRoles) {
    throw new SwitchboardError(
      "too_many_requests",
      `the seats hold ${deps.roles.size} roles and may hold ${maxRoles} in all ` +
        "(SWITCHBOARD_MAX_ROLES); delete a seat first",
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

/** What an `Authorization` value may hold: visible ASCII, space and tab. */
const VISIBLE_ASCII = /^[\t\x20-\x7e]*$/;

/**
 * The bearer token of an `Authorization` header, or null (parser O): a value that is not
 * visible ASCII counts as missing, as in 0.1.2 (reference/http.md §2.3).
 */
export function operatorBearer(header: string | undefined | null): string | null {
  if (header && !VISIBLE_ASCII.test(header)) return null;
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

/** Hands the requests of a resumed run back to their seats (at boot). */
export function restoreRequests(
  deps: Pick<SeatDeps, "sessions">,
  requests: Iterable<RequestRecord>,
): void {
  for (const request of requests) deps.sessions.get(request.sid)?.restore(request);
}

/** Makes the seats that held requests of an ended run forget them. */
export function forgetRunRequests(
  deps: Pick<SeatDeps, "sessions" | "runEnded">,
  runId: string,
  sids: Iterable<string>,
): void {
  for (const sid of sids) deps.sessions.get(sid)?.forgetRun(runId);
  // (a request that ended before its run, cancelled or failed by its seat's deletion,
  // is not the run's any more: `sids` may leave its seat out)
  deps.runEnded?.(runId);
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
