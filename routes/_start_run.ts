/**
 * Starting a run from a task body: its named seats loaded (cluster), its own
 * `seats` minted, the engine started (once more after a seat sync in a
 * cluster), and the run feed told.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { RunSeat, TaskBody } from "../protocol/tasks.ts";
import {
  CompileError,
  newRunId,
  prepareRun,
  type StartedRun,
  type StartRunRequest,
  UnheldSeatError,
} from "../engine/mod.ts";
import { mintSeat, releaseRunSeats } from "../session/seats.ts";
import type { RunRoutesDeps } from "./_runs.ts";
import { assertRunRoom, assertStorageRoom } from "./_http.ts";

/** Starts the run `body` asks for, with its own seats (released if it cannot start). */
export async function startRun(
  deps: RunRoutesDeps,
  body: TaskBody,
): Promise<{ run: StartedRun; seats: RunSeat[] | undefined }> {
  assertStorageRoom(deps.storage);
  assertRunRoom(deps.engine.stats(), deps.liveRuns, body.init_ctx);
  const named = [body.operator_sid, body.operator?.spawn_hook_id, body.operator?.senior_bridge_id];
  for (const sid of named) {
    if (sid !== undefined && deps.loadSeat && !deps.operators.has(sid)) await deps.loadSeat(sid);
  }
  const request = await seatsSynced(deps, UnheldSeatError, () => prepareRun(deps, body));
  const seats = await mintRunSeats(deps, body, request);
  try {
    return { run: await seatsSynced(deps, CompileError, () => launchRun(deps, request)), seats };
  } catch (err) {
    if (deps.seats && request.runId) await releaseRunSeats(deps.seats, request.runId);
    throw err;
  }
}

/**
 * `attempt()`, and in a cluster once more after a seat sync when it failed with a
 * 400 caused by `missed`: a seat minted a moment ago elsewhere may not have
 * reached this instance yet.
 */
async function seatsSynced<T>(
  deps: RunRoutesDeps,
  missed: typeof UnheldSeatError | typeof CompileError,
  attempt: () => T | Promise<T>,
): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (!(err instanceof SwitchboardError && err.cause instanceof missed)) throw err;
    if (!deps.syncSeats) throw err;
    await deps.syncSeats();
    return await attempt();
  }
}

/** Starts a prepared run and tells the feed (its end is told by the engine's run-end hook, deps.ts). */
export function launchRun(deps: RunRoutesDeps, request: StartRunRequest): StartedRun {
  const run = startOrThrow(deps, request);
  deps.runFeed.tell("run_started", run.run_id, () => deps.engine.view(run.run_id));
  return run;
}

function startOrThrow(deps: RunRoutesDeps, request: StartRunRequest): StartedRun {
  try {
    return deps.engine.start(request);
  } catch (err) {
    if (err instanceof CompileError) {
      throw new SwitchboardError("bad_request", `run: launch: compile: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Mints the run's own `seats`, scoped to the run (whose id is chosen now), so
 * its roles reach them before any other seat. They are deleted when it ends.
 */
async function mintRunSeats(
  deps: RunRoutesDeps,
  body: TaskBody,
  request: StartRunRequest,
): Promise<RunSeat[] | undefined> {
  if (!body.seats || body.seats.length === 0) return undefined;
  if (!deps.seats) throw new SwitchboardError("bad_request", "seats: not available here");
  const runId = request.runId = newRunId();
  const minted: RunSeat[] = [];
  try {
    for (const [index, { role }] of body.seats.entries()) {
      const seat = await mintSeat(deps.seats, [role], {
        scope: { run_id: runId },
        rolePath: () => ["seats", index, "role"],
      });
      minted.push({ sid: seat.sid, token: seat.token, role });
    }
  } catch (err) {
    await releaseRunSeats(deps.seats, runId);
    throw err;
  }
  return minted;
}
