/**
 * The reads of the KV run store: runs (by id, or listed newest first), and a
 * run's steps, journal, events, requests and tasks. A run stored by one commit
 * holds its steps, events and tasks in its record (`embedded`). Every read waits for
 * the writes queued before it.
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import { sentOrder, type TaskState } from "../protocol/runs.ts";
import type { BlobRef } from "./kv_blob.ts";
import {
  type JournalEntry,
  type RequestRecord,
  type RunEvent,
  type RunHead,
  runHead,
  type RunRecord,
  type RunStatus,
  type RunStore,
  type StepRecord,
} from "./run_store.ts";
import { getJson, orGone, readRef } from "./_kv_json.ts";
import { type Embedded, indexValue, type KvRunAccess, type StoredRun } from "./_kv_run_keys.ts";

/** The run reads of a {@link RunStore}. */
export type KvRunReads = Pick<
  RunStore,
  | "getRun"
  | "listRuns"
  | "listRunHeads"
  | "listSteps"
  | "listJournal"
  | "listEvents"
  | "listRequests"
  | "getTask"
  | "listTasks"
>;

/** The run reads of a KV run store, each after `idle()`. */
export function createKvRunReads(access: KvRunAccess): KvRunReads {
  const { kv, keys, idle } = access;
  const { blobs } = keys;

  /** A stored record with its blueprint (stored beside it, or inline in older records). */
  async function withBlueprint(stored: StoredRun): Promise<RunRecord> {
    const { blueprint_ref, embedded: _, ...record } = stored;
    // `as RunRecord`: an older record holds its blueprint inline
    if (record.blueprint !== undefined) return record as RunRecord;
    const key = blueprint_ref === undefined
      ? keys.runBlueprint(stored.run_id)
      : keys.blueprint(blueprint_ref);
    const blueprint = await getJson<BlueprintNorm>(kv, key, blobs);
    if (blueprint === undefined) throw new Error(`store: blueprint of ${stored.run_id} missing`);
    return { ...record, blueprint };
  }
  /** What a run's record holds of it (a run stored by one commit): steps, events, tasks. */
  const embeddedOf = async (id: string): Promise<Embedded | undefined> =>
    (await getJson<StoredRun>(kv, keys.run(id), blobs))?.embedded;
  const getTask = async (id: string, runId?: string) => {
    await idle();
    const task = await getJson<TaskState>(kv, keys.task(id), blobs);
    if (task || runId === undefined) return task;
    return (await embeddedOf(runId))?.tasks?.find((t) => t.id === id);
  };

  async function listRefs<T>(sub: Deno.KvKey): Promise<T[]> {
    await idle();
    const out: T[] = [];
    for await (const { value } of kv.list<BlobRef>({ prefix: keys.at(...sub) })) {
      out.push(await readRef<T>(kv, blobs, value));
    }
    return out;
  }

  /**
   * The runs newest first (of `status`) as their index keys show them: id, start,
   * and the status and Blueprint id their values hold (older files: some of it).
   */
  async function scanIndex(limit: number, status: RunStatus | undefined) {
    const found: Array<{ id: string; createdAt: number; status?: string; blueprintId?: string }> =
      [];
    if (limit <= 0) return found;
    await idle();
    // the running index holds only live runs; the order index holds them all
    const index = status === "running" ? "running" : "order";
    const iter = kv.list({ prefix: keys.at(index) }, {
      reverse: true,
      batchSize: Math.min(500, Math.max(10, limit)),
    });
    for await (const { key, value } of iter) {
      const seen = index === "running" ? { ...indexValue(value), status } : indexValue(value);
      if (status !== undefined && seen.status !== status) continue;
      const [createdAt, id] = key.slice(-2);
      if (typeof id === "string" && typeof createdAt === "number") {
        found.push({ id, createdAt, ...seen });
      }
      if (found.length >= limit) break;
    }
    return found;
  }

  /** Calls `each` with the stored runs newest first (of `status`), read ten at a time. */
  async function eachStoredRun(
    limit: number,
    status: RunStatus | undefined,
    each: (stored: StoredRun) => Promise<void>,
  ): Promise<void> {
    const ids = (await scanIndex(limit, status)).map((r) => r.id);
    // ten keys at a time (KV's getMany limit)
    for (let i = 0; i < ids.length; i += 10) {
      const refs = await kv.getMany<BlobRef[]>(ids.slice(i, i + 10).map(keys.run));
      for (const { key, value, versionstamp } of refs) {
        if (value === null) continue;
        // a run deleted while it is read is left out
        await orGone(kv, key, versionstamp, async () => {
          await each(await readRef<StoredRun>(kv, blobs, value));
        });
      }
    }
  }

  return {
    async getRun(id) {
      await idle();
      const stored = await getJson<StoredRun>(kv, keys.run(id), blobs);
      return stored && await withBlueprint(stored);
    },

    async listRunHeads({ limit, status }) {
      const out: RunHead[] = [];
      // from the index keys alone; a run an older build indexed is read whole
      for (const run of await scanIndex(limit, status)) {
        if (run.status !== undefined && run.blueprintId !== undefined) {
          out.push({
            run_id: run.id,
            status: run.status as RunStatus,
            created_at: run.createdAt,
            blueprint_id: run.blueprintId,
          });
          continue;
        }
        const stored = await getJson<StoredRun>(kv, keys.run(run.id), blobs);
        if (stored) out.push(runHead(await withBlueprint(stored)));
      }
      return out;
    },

    async listRuns({ limit, status }) {
      const out: RunRecord[] = [];
      await eachStoredRun(limit, status, async (stored) => {
        out.push(await withBlueprint(stored));
      });
      return out;
    },

    async listSteps(runId) {
      const steps = await listRefs<StepRecord>(["step", runId]);
      const embedded = (await embeddedOf(runId))?.steps;
      if (!embedded?.length) return steps;
      // a step written on its own after the run's one commit is the newer
      const bySeq = new Map(embedded.map((s) => [s.seq, s]));
      for (const s of steps) bySeq.set(s.seq, s);
      return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    },

    listJournal(runId) {
      return listRefs<JournalEntry>(["journal", runId]);
    },

    async listEvents(runId, after = 0) {
      const packs = await listRefs<RunEvent | RunEvent[]>(["event", runId]);
      const embedded = (await embeddedOf(runId))?.events ?? [];
      const all = embedded.length === 0 ? packs.flat() : [...embedded, ...packs.flat()];
      return all.filter((e) => e.id > after);
    },

    async listRequests(runId) {
      const requests = await listRefs<RequestRecord>(["request", runId]);
      // keys order one millisecond's requests by req_id: `seq` gives the order sent
      return requests.sort(sentOrder);
    },

    getTask,

    async listTasks(runId) {
      const out: TaskState[] = [];
      await idle();
      for await (const { key } of kv.list({ prefix: keys.at("run_task", runId) })) {
        const id = key.at(-1);
        const task = typeof id === "string" ? await getTask(id) : undefined;
        if (task) out.push(task);
      }
      // a task written on its own after the run's one commit is the newer
      const listed = new Set(out.map((t) => t.id));
      for (const t of (await embeddedOf(runId))?.tasks ?? []) if (!listed.has(t.id)) out.push(t);
      return out;
    },
  };
}
