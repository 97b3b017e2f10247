/**
 * What the run route modules (run_start.ts, run_reads.ts, run_cancel.ts,
 * run_events.ts) share: their deps, their OpenAPI metadata, the not-found
 * error and the SSE keep-alive.
 *
 * @module
 */
import type { DiskBudget } from "../store/disk_budget.ts";
import type { LiveRunLimits } from "./_http.ts";
import type { MiddlewareHandler } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";
import type { RunEvent } from "../protocol/runs.ts";
import type { RunStore } from "../store/run_store.ts";
import type { Engine, PrepareEnv, RunView } from "../engine/mod.ts";
import type { SeatDeps } from "../session/seats.ts";
import type { RunFeed } from "./_run_feed.ts";
import type { StreamSlots } from "./_streams.ts";
import { doc, type DocOptions } from "./_doc.ts";

/** In a cluster: the runs another instance owns (cluster.ts). */
export interface RemoteRuns {
  /** Cancels a running run that another instance owns; undefined when it is not one. */
  cancelRemote?: (runId: string) => Promise<RunView | undefined>;
  /** Follows a run that another instance owns; undefined when it is not one. */
  watchRemote?: (
    runId: string,
    after: number,
    options: { signal: AbortSignal },
  ) => Promise<AsyncIterableIterator<RunEvent> | undefined>;
}

/** What the run routes need. */
export interface RunRoutesDeps extends PrepareEnv, RemoteRuns {
  engine: Engine;
  /** The run store, for the list's filters and re-runs (defaults to what the engine lists). */
  runs?: RunStore;
  apiToken?: string;
  /** The clock of SSE tickets. Default `Date.now`. */
  now?: () => number;
  /** The seat table, to mint a run's own `seats` (absent: `seats` is refused). */
  seats?: SeatDeps;
  /** In a cluster: loads a seat minted on another instance that this one has not seen yet. */
  loadSeat?: (sid: string) => Promise<void>;
  /** In a cluster: reads every seat again (a role named by a run may be new). */
  syncSeats?: () => Promise<void>;
  /** The run feed (deps.ts tells it when runs end), one for all the run routes. */
  runFeed: RunFeed;
  /** The KV file's byte bound: no new run while it is over (507). */
  storage?: DiskBudget;
  /** The bounds of the runs in progress: no new run past them (503). */
  liveRuns?: LiveRunLimits;
  /** The bound on open event streams: no new one past it (503). */
  streams?: StreamSlots;
}

/** How often an idle event stream sends a keep-alive comment. */
export const SSE_KEEPALIVE_MS = 15_000;

/** The `not_found` error of run `id`. */
export function runNotFound(id: string): SwitchboardError {
  return new SwitchboardError("not_found", `run not found: ${id}`);
}

/** Describes a run route: tag `runs`, behind the API token (when one is set). */
export function runDoc(options: Omit<DocOptions, "tags" | "admin">): MiddlewareHandler {
  return doc({ tags: ["runs"], ...options, admin: true });
}
