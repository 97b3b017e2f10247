/**
 * The writes of the KV run store. A run's writes gather in one group of the
 * write queue (`_kv_write_queue.ts`) until the queue takes it: only the last
 * state of each key is built and written then (`_kv_run_commit.ts`), in one
 * commit with the runs around it.
 *
 * @module
 */
import type { RunStore } from "./run_store.ts";
import type { createKvWriteQueue } from "./_kv_write_queue.ts";
import type { KvRunKeys } from "./_kv_run_keys.ts";
import { kvRunCommit, type RunWrites } from "./_kv_run_commit.ts";

/** The write methods of a {@link RunStore}. */
export type KvRunWrites = Pick<
  RunStore,
  | "putRun"
  | "putStep"
  | "putJournal"
  | "appendEvent"
  | "putRequest"
  | "putTask"
  | "putToken"
>;

/** The writes of a KV run store under `keys`, through `queue`. */
export function createKvRunWrites(
  keys: KvRunKeys,
  queue: ReturnType<typeof createKvWriteQueue>,
): KvRunWrites {
  const { runWrites, tokenWrite } = kvRunCommit(keys);
  /** Blueprint objects written under an id of their own, by object. */
  const sharedBlueprints = new WeakMap<object, { id: string; written: Promise<void> }>();
  /** Runs this process started and that still run: their keys are new to the file. */
  const fresh = new Set<string>();
  /** Per run, its writes the queue has not taken yet. */
  const pending = new Map<string, RunWrites>();

  /** The pending writes of run `runId` (a new group of the queue when none is). */
  function writesOf(runId: string): RunWrites {
    const known = pending.get(runId);
    if (known) return known;
    // (the queue calls this when it takes the group, after `made` exists)
    const written = queue.group(() => {
      if (pending.get(runId) === made) pending.delete(runId);
      return runWrites(runId, made);
    });
    const made: RunWrites = { fresh: fresh.has(runId), created: false, written };
    pending.set(runId, made);
    return made;
  }

  return {
    putRun(run, options = {}) {
      const runId = run.run_id;
      if (options.created) fresh.add(runId);
      if (run.status !== "running") fresh.delete(runId);
      const w = writesOf(runId);
      if (options.created) {
        w.created = true;
        w.fresh = true;
      }
      // One Blueprint object (runs of one inline or stored Blueprint share it) is
      // written once, under an id of its own, with the first run that names it.
      let shared = sharedBlueprints.get(run.blueprint);
      if (!shared) {
        const blueprint = run.blueprint;
        shared = { id: crypto.randomUUID(), written: w.written };
        sharedBlueprints.set(blueprint, shared);
        w.blueprint = { id: shared.id, value: blueprint };
        w.written.catch(() => sharedBlueprints.delete(blueprint)); // written again next time
      }
      w.record = run;
      w.blueprintRef = shared.id;
      return shared.written === w.written
        ? w.written
        : Promise.all([shared.written, w.written]).then(() => {});
    },

    putStep(runId, step) {
      const w = writesOf(runId);
      (w.steps ??= new Map()).set(step.seq, step);
      return w.written;
    },

    putJournal(runId, entry) {
      const w = writesOf(runId);
      (w.journal ??= new Map()).set(entry.key, entry);
      return w.written;
    },

    appendEvent(runId, event) {
      const w = writesOf(runId);
      (w.events ??= []).push(event);
      return w.written;
    },

    putRequest(runId, request) {
      const w = writesOf(runId);
      (w.requests ??= new Map()).set(`${request.sent_at}\n${request.req_id}`, request);
      return w.written;
    },

    putTask(task) {
      const w = writesOf(task.run_id);
      (w.tasks ??= new Map()).set(task.id, task);
      return w.written;
    },

    putToken(record) {
      if (record.run_id === undefined) return queue.write(tokenWrite(record));
      const w = writesOf(record.run_id);
      (w.tokens ??= new Map()).set(record.nonce, record);
      return w.written;
    },
  };
}
