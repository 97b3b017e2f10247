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
  /** Stores one event of run `runId`; settles once it is durable (the store keeps call order). */
  store(runId: string, event: RunEvent): Promise<void>;
}

/** Options of {@link RunLog.watch}. */
export interface WatchOptions {
  /** Ends the watch (the iterator returns). */
  signal?: AbortSignal;
}

/**
 * One run's event log. A class (not a closure per run): a run parked on an
 * operator holds its log, and 10,000 parked runs are a benchmark case.
 */
export class RunLog {
  readonly #env: RunLogEnv;
  readonly #runId: string;
  readonly #events: RunEvent[];
  /** The last event id that is durable and was handed to watchers. */
  #durable: number;
  #wakers?: Set<() => void>;

  /** A log of run `runId` that continues `prior` (the events stored before a restart). */
  constructor(env: RunLogEnv, runId: string, prior: RunEvent[] = []) {
    this.#env = env;
    this.#runId = runId;
    this.#events = prior;
    this.#durable = prior.length;
  }

  /** How many events were appended. */
  get size(): number {
    return this.#events.length;
  }

  /** Every event appended so far, in order (the run's view reads its requests from them). */
  history(): readonly RunEvent[] {
    return this.#events;
  }

  /** Appends an event (not waiting for the store). */
  append(type: string, data: Json): RunEvent {
    const event: RunEvent = { id: this.#events.length + 1, type, at: this.#env.now(), data };
    this.#events.push(event);
    const published = () => this.#publish(event.id);
    this.#env.store(this.#runId, event).then(published, published);
    return event;
  }

  #publish(id: number): void {
    if (id <= this.#durable) return;
    this.#durable = id;
    for (const wake of [...this.#wakers ?? []]) wake();
  }

  /** Durable events after `after`, then live ones until `run_ended` or `signal`. */
  async *watch(after: number, options: WatchOptions = {}): AsyncIterableIterator<RunEvent> {
    const { signal } = options;
    let next = after + 1;
    while (!signal?.aborted) {
      while (next <= this.#durable) {
        const event = this.#events[next - 1];
        next++;
        yield event;
        if (event.type === "run_ended") return;
      }
      const { promise, resolve } = Promise.withResolvers<void>();
      const onAbort = () => resolve();
      const wakers = this.#wakers ??= new Set();
      wakers.add(resolve);
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await promise;
      } finally {
        wakers.delete(resolve);
        signal?.removeEventListener("abort", onAbort);
      }
    }
  }
}
