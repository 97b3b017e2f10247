/**
 * The run feed behind `GET /v1/runs/feed`: runs started and ended through the run
 * routes, pushed to every watcher (the console's live run list). Nothing is kept:
 * a watcher reads `GET /v1/runs` first, then follows the feed.
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
  return {
    /** True while someone watches (a run's view is built only then). */
    get watched(): boolean {
      return watchers.size > 0;
    },
    publish(event: RunFeedEvent): void {
      for (const watcher of watchers) watcher(event);
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
