/**
 * A run's event log: events are numbered 1, 2, … and appended in memory at
 * once; each is handed to the store without waiting, and watchers see it only
 * once it is durable, so an id a client has seen is never reused by a restart
 * (`Last-Event-ID` stays meaningful).
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import type { RunEvent } from "../protocol/runs.ts";

/** What a log writes through. */
export interface RunLogEnv {
  now(): number;
  /** Stores one event; settles once it is durable (the store keeps call order). */
  store(event: RunEvent): Promise<void>;
}

/** Options of {@link RunLog.watch}. */
export interface WatchOptions {
  /** Ends the watch (the iterator returns). */
  signal?: AbortSignal;
}

/** One run's event log. */
export interface RunLog {
  /** Appends an event (not waiting for the store). */
  append(type: string, data: Json): RunEvent;
  /** Durable events after `after`, then live ones until `run_ended` or `signal`. */
  watch(after: number, options?: WatchOptions): AsyncIterableIterator<RunEvent>;
  /** How many events were appended. */
  readonly size: number;
  /** Every event appended so far, in order (the run's view reads its requests from them). */
  history(): readonly RunEvent[];
}

/** Creates a log that continues `prior` (the events stored before a restart). */
export function createRunLog(env: RunLogEnv, prior: RunEvent[] = []): RunLog {
  const events = prior;
  /** The last event id that is durable and was handed to watchers. */
  let durable = events.length;
  const wakers = new Set<() => void>();
  const publish = (id: number) => {
    if (id <= durable) return;
    durable = id;
    for (const wake of [...wakers]) wake();
  };
  return {
    get size() {
      return events.length;
    },
    history: () => events,
    append(type, data) {
      const event: RunEvent = { id: events.length + 1, type, at: env.now(), data };
      events.push(event);
      const published = () => publish(event.id);
      env.store(event).then(published, published);
      return event;
    },
    async *watch(after, options = {}) {
      const { signal } = options;
      let next = after + 1;
      while (!signal?.aborted) {
        while (next <= durable) {
          const event = events[next - 1];
          next++;
          yield event;
          if (event.type === "run_ended") return;
        }
        const { promise, resolve } = Promise.withResolvers<void>();
        const onAbort = () => resolve();
        wakers.add(resolve);
        signal?.addEventListener("abort", onAbort, { once: true });
        try {
          await promise;
        } finally {
          wakers.delete(resolve);
          signal?.removeEventListener("abort", onAbort);
        }
      }
    },
  };
}
