/**
 * How seats end: deletion (4001 to the socket, pending requests fail, roles
 * released), the grace of a `release_on_close` seat whose socket closed, the
 * idle sweep, and the seats scoped to a run that ended.
 *
 * @module
 */
import type { Seat } from "./seat.ts";
import { type SeatDeps, unregister } from "./seat_registry.ts";

/** The default `grace_secs` of a `release_on_close` seat. */
export const DEFAULT_GRACE_SECS = 30;

/** Tears a seat down: 4001 to its socket, pending requests fail, roles released. */
export async function deleteSeat(
  deps: SeatDeps,
  session: Seat,
  why: "deleted" | "idle" | "released" | "run ended",
): Promise<void> {
  unregister(deps, session);
  clearTimeout(releaseTimers.get(session));
  releaseTimers.delete(session);
  session.teardown(why === "idle" ? "expired" : "deleted");
  await deps.sessionEnv.store.deleteSeat(session.sid, { expired: why === "idle" });
  deps.sessionEnv.log.info("operator deleted", { sid: session.sid, why });
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
