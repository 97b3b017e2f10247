/**
 * What the write queue commits for one run of the KV run store: the last state
 * of each key among the run's pending writes, with their index keys. What only a
 * resume reads (step outcomes, requests, tasks without a worker token) is left
 * out of the commit that ends a run this process started, and a run that starts
 * and ends within one commit is one value beside its `order` key (and its token
 * records, read by nonce and handle).
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import type { TaskState, TokenRecord } from "../protocol/runs.ts";
import type { JournalEntry, RequestRecord, RunEvent, RunRecord, StepRecord } from "./run_store.ts";
import type { QueuedWrite } from "./_kv_write_queue.ts";
import {
  type Embedded,
  type KvRunKeys,
  MARK,
  orderValue,
  runningValue,
  type StoredRun,
} from "./_kv_run_keys.ts";

/** One run's writes not taken by the write queue yet (only their last state is written). */
export interface RunWrites {
  /** The run's keys are new to the file (a run this process started). */
  fresh: boolean;
  /** The run's first record is among these writes. */
  created: boolean;
  /** The last record written, and the id of its Blueprint. */
  record?: RunRecord;
  blueprintRef?: string;
  /** A Blueprint object written for the first time. */
  blueprint?: { id: string; value: BlueprintNorm };
  steps?: Map<number, StepRecord>;
  journal?: Map<string, JournalEntry>;
  events?: RunEvent[];
  tasks?: Map<string, TaskState>;
  requests?: Map<string, RequestRecord>;
  tokens?: Map<string, TokenRecord>;
  /** Settles once the queue has committed them. */
  written: Promise<void>;
}

/** Builds the queued writes of a KV run store (see {@link kvRunCommit}). */
export interface KvRunCommit {
  /** What the queue writes for one run's pending writes: the last state of each key. */
  runWrites(runId: string, w: RunWrites): QueuedWrite[];
  /**
   * The write of a token record, with its index keys (`unmarked`: without the
   * `run_token` mark, for a run whose record lists its tokens).
   */
  tokenWrite(record: TokenRecord, how?: { unmarked?: boolean }): QueuedWrite;
}

/** The queued writes of the runs of one store, under `keys`. */
export function kvRunCommit(keys: KvRunKeys): KvRunCommit {
  /** Live tasks and token records whose index keys are written (they never change). */
  const indexed = new WeakSet<object>();

  function runWrites(runId: string, w: RunWrites): QueuedWrite[] {
    const out: QueuedWrite[] = [];
    const isFresh = w.fresh;
    const run = w.record;
    const ends = run !== undefined && run.status !== "running";
    // A run this process started is never resumed once it has ended: what only a
    // resume reads (step outcomes, requests, tasks without a worker token) is left
    // out of the commit that ends it.
    const last = isFresh && ends;
    // A run that started and ended here keeps its steps and events in its record
    // (one value for the whole run: nothing of it is stored yet).
    const embedded: Embedded | undefined = w.created && ends
      ? { steps: [], events: [] }
      : undefined;
    if (w.blueprint) {
      out.push({
        key: keys.blueprint(w.blueprint.id),
        value: w.blueprint.value,
        blob: true,
        fresh: true,
      });
    }
    for (const [seq, step] of w.steps ?? []) {
      if (embedded) {
        embedded.steps.push(step);
        continue;
      }
      out.push({ key: keys.step(runId, seq), value: step, blob: true, fresh: isFresh });
    }
    if (!last) {
      for (const [key, entry] of w.journal ?? []) {
        out.push({ key: keys.journal(runId, key), value: entry, blob: true, fresh: isFresh });
      }
      for (const request of w.requests?.values() ?? []) {
        out.push({
          key: keys.request(runId, request.sent_at, request.req_id),
          value: request,
          blob: true,
          fresh: isFresh,
        });
      }
    }
    for (const task of w.tasks?.values() ?? []) {
      // a task whose worker holds a token answers 410 after its run: kept
      if (last && task.attempts.every((a) => a.nonce === undefined)) continue;
      if (embedded) {
        (embedded.tasks ??= []).push(task);
        continue;
      }
      const index = !indexed.has(task);
      indexed.add(task);
      out.push({
        key: keys.task(task.id),
        value: task,
        blob: true,
        fresh: isFresh,
        extraMutations: index ? 1 : 0,
        extra: index ? (op) => op.set(keys.runTask(runId, task.id), MARK) : undefined,
      });
    }
    // The events appended meanwhile are one write per unbroken series: an array
    // under the first one's id (older files hold one event a key).
    const events = w.events ?? [];
    if (embedded) embedded.events = events;
    for (let i = 0; !embedded && i < events.length;) {
      let j = i + 1;
      while (j < events.length && events[j].id === events[j - 1].id + 1) j++;
      out.push({
        key: keys.event(runId, events[i].id),
        value: events.slice(i, j),
        blob: true,
        onlyIfAbsent: true,
        fresh: isFresh,
      });
      i = j;
    }
    for (const record of w.tokens?.values() ?? []) {
      if (embedded) {
        // read by nonce and handle; the run's record lists it for retention
        (embedded.tokens ??= []).push(record.nonce);
        out.push(tokenWrite(record, { unmarked: true }));
      } else out.push(tokenWrite(record));
    }
    if (run !== undefined) {
      // A run this process started has its index keys written by its first record;
      // its checkpoints leave them as they are, its end updates them.
      const index = !isFresh || w.created || ends;
      out.push(recordWrite(run, w.blueprintRef!, { isFresh, index, embedded }));
    }
    return out;
  }

  /** The write of a run record (its checkpoint), with its index keys. */
  function recordWrite(
    run: RunRecord,
    blueprintRef: string,
    how: { isFresh: boolean; index: boolean; embedded?: Embedded },
  ): QueuedWrite {
    const running = keys.running(run);
    const { blueprint: _, ...stored } = run;
    // the ctx as it is now (the value is serialized when the commit is built)
    const rest: StoredRun = stored;
    rest.blueprint_ref = blueprintRef;
    if (how.embedded) rest.embedded = how.embedded;
    return {
      key: keys.run(run.run_id),
      value: rest,
      blob: true,
      fresh: how.isFresh,
      extraMutations: how.index ? 2 : 0,
      extra: how.index
        ? (op) => {
          // (`status, <run_id>` is no longer written; older files may hold it)
          op.set(keys.order(run), orderValue(run));
          if (run.status === "running") op.set(running, runningValue(run));
          else if (!how.embedded) op.delete(running); // (a run stored by one commit has none)
        }
        : undefined,
    };
  }

  function tokenWrite(record: TokenRecord, how: { unmarked?: boolean } = {}): QueuedWrite {
    const index = how.unmarked ? null : keys.tokenIndex(record);
    const handle = record.handle === undefined ? null : keys.tokenHandle(record.handle);
    // the index keys of a record this store wrote before are there already (an
    // unmarked one gets its mark if it is ever written again)
    const known = indexed.has(record);
    if (index) indexed.add(record);
    return {
      key: keys.token(record.nonce),
      value: record,
      blob: false,
      extraMutations: known ? 0 : 2,
      extra: known ? undefined : (op) => {
        if (index) op.set(index, MARK);
        if (handle) op.set(handle, record.nonce);
      },
    };
  }

  return { runWrites, tokenWrite };
}
