/**
 * The run feed behind `GET /v1/runs/feed`: runs started through the run routes and
 * every run that ends here (resumed ones too), pushed to every watcher (the
 * console's live run list). Nothing is kept: a watcher reads `GET /v1/runs`
 * first, then follows the feed.
 *
 * @module
 */
import type { RunInfo } from "../protocol/tasks.ts";

/** One feed event. */
export interface RunFeedEvent {
  type: "run_started" | "run_ended";
  run: RunInfo;
}

/** Creates a feed. */
export function createRunFeed() {
  const watchers = new Set<(event: RunFeedEvent) => void>();
  /** A run's `run_started` still being told: its `run_ended` goes after it. */
  const starting = new Map<string, Promise<void>>();
  const publish = (event: RunFeedEvent) => {
    for (const watcher of watchers) watcher(event);
  };
  return {
    /**
     * Tells watchers that run `runId` started or ended, with the view `view()`
     * reads (built only while someone watches). A run's end is told after its start.
     */
    tell(
      type: RunFeedEvent["type"],
      runId: string,
      view: () => Promise<RunInfo | undefined>,
    ): void {
      const before = starting.get(runId);
      if (type === "run_ended") starting.delete(runId);
      if (watchers.size === 0) return;
      const told = (before ?? Promise.resolve()).then(view).then((run) => {
        if (run) publish({ type, run });
      }).catch(() => {}).finally(() => {
        if (starting.get(runId) === told) starting.delete(runId);
      });
      if (type === "run_started") starting.set(runId, told);
    },
    /** Calls `watcher` for each event until the returned function is called. */
    watch(watcher: (event: RunFeedEvent) => void): () => void {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
  };
}

/** A feed's type. */
export type RunFeed = ReturnType<typeof createRunFeed>;
