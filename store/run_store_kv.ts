/**
 * The Deno KV run store. Values that may grow with user data (the run record with
 * its ctx, journal entries, events, tasks) are stored as a `BlobRef`
 * (`kv_blob.ts`): a small one as its JSON text, one over 64 KiB in chunks. Keys,
 * below `prefix` (default `["runs"]`):
 *
 * - `run, <run_id>` → the run record, without its blueprint (named by
 *   `blueprint_ref`; older records hold it inline). A run that started and ended
 *   within one commit keeps its steps and events in it (`embedded`);
 * - `blueprint, <id>` → a Blueprint object shared by runs, written once per
 *   process (`run_bp, <run_id>` in older files);
 * - `order, <created_at>, <run_id>` → its status (newest-first listing);
 * - `running, <created_at>, <run_id>` → a mark while it runs (boot reads only these);
 * - `step, <run_id>, <seq>` → a {@link StepRecord};
 * - `journal, <run_id>, <step key>` → a {@link JournalEntry};
 * - `event, <run_id>, <id>` → the events from `id` on that were appended
 *   together (one event in older files), written once;
 * - `task, <task_id>` → a `TaskState`; `run_task, <run_id>, <task_id>` → a mark;
 * - `token, <nonce>` → a `TokenRecord`, indexed by `run_token, <run_id>, <nonce>`
 *   (or `free_token, <nonce>` without a run) → a mark, so boot reads only live ones;
 * - `token_handle, <handle>` → the nonce of the worker token behind a handle;
 * - `request, <run_id>, <sent_at>, <req_id>` → a `RequestRecord` (its latest state);
 * - `blob, …` → chunks (store/kv_blob.ts).
 *
 * Older files may also hold `status, <run_id>` (no longer written nor read).
 * `pruneEnded` (retention) walks `order` oldest first and stops at the cutoff:
 * a run created after it cannot have finished before it.
 *
 * **Writes.** A run's writes gather in one group of the write queue
 * (`_kv_write_queue.ts`) until the queue takes it: only the last state of each
 * key is built and written then, in one commit with the runs around it. What
 * only a resume reads (step outcomes, requests, tasks without a worker token) is
 * left out of the commit that ends a run this process started, and a run that
 * starts and ends within one commit is one value beside its `order` key. Reads
 * wait for the writes queued before them.
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import type { TaskState, TokenRecord } from "../protocol/runs.ts";
import type { BlobRef } from "./kv_blob.ts";
import type {
  JournalEntry,
  RequestRecord,
  RunEvent,
  RunRecord,
  RunStatus,
  RunStore,
  StepRecord,
} from "./run_store.ts";
import { expiredFree } from "./run_store.ts";
import { deleteJson, getJson, readRef } from "./_kv_json.ts";
import { deleteBlob } from "./kv_blob.ts";
import { retryKvLocked } from "./kv_retry.ts";
import { createKvWriteQueue, type QueuedWrite } from "./_kv_write_queue.ts";

/**
 * The value of an index key whose value is never read (`running`, `run_task`,
 * `run_token`, `free_token`): empty bytes, which KV stores as they are (a `null`
 * goes through V8's serializer, one call a key). Older files hold `null`.
 */
const MARK = new Uint8Array(0);

/** The steps and events kept in the record of a run stored by one commit. */
interface Embedded {
  steps: StepRecord[];
  events: RunEvent[];
}

/** A run record as stored: its Blueprint beside it (older records hold it inline). */
type StoredRun = Omit<RunRecord, "blueprint"> & {
  blueprint?: BlueprintNorm;
  blueprint_ref?: string;
  embedded?: Embedded;
};

/** One run's writes not taken by the write queue yet (only their last state is written). */
interface RunWrites {
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

/** Options of {@link createKvRunStore}. */
export interface KvRunStoreOptions {
  /** Key prefix of every entry. Default `["runs"]`. */
  prefix?: Deno.KvKey;
}

/** Creates a {@link RunStore} on `kv`. The caller owns `kv` and closes it. */
export function createKvRunStore(kv: Deno.Kv, options: KvRunStoreOptions = {}): RunStore {
  const { prefix = ["runs"] } = options;
  const blobs: Deno.KvKey = [...prefix, "blob"];
  const runKey = (id: string): Deno.KvKey => [...prefix, "run", id];
  const orderKey = (r: RunRecord): Deno.KvKey => [...prefix, "order", r.created_at, r.run_id];
  const taskKey = (id: string): Deno.KvKey => [...prefix, "task", id];
  const bpKey = (id: string): Deno.KvKey => [...prefix, "run_bp", id];
  const queue = createKvWriteQueue(kv, blobs);
  /** Blueprint objects written under an id of their own, by object. */
  const sharedBlueprints = new WeakMap<object, { id: string; written: Promise<void> }>();
  const sharedBpKey = (id: string): Deno.KvKey => [...prefix, "blueprint", id];
  /** Runs this process started and that still run: their keys are new to the file. */
  const fresh = new Set<string>();
  /** Per run, its writes the queue has not taken yet. */
  const pending = new Map<string, RunWrites>();
  /** Live tasks and token records whose index keys are written (they never change). */
  const indexed = new WeakSet<object>();

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

  /** What the queue writes for one run's pending writes: the last state of each key. */
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
        key: sharedBpKey(w.blueprint.id),
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
      out.push({ key: [...prefix, "step", runId, seq], value: step, blob: true, fresh: isFresh });
    }
    if (!last) {
      for (const [key, entry] of w.journal ?? []) {
        out.push({
          key: [...prefix, "journal", runId, key],
          value: entry,
          blob: true,
          fresh: isFresh,
        });
      }
      for (const request of w.requests?.values() ?? []) {
        out.push({
          key: [...prefix, "request", runId, request.sent_at, request.req_id],
          value: request,
          blob: true,
          fresh: isFresh,
        });
      }
    }
    for (const task of w.tasks?.values() ?? []) {
      // a task whose worker holds a token answers 410 after its run: kept
      if (last && task.attempts.every((a) => a.nonce === undefined)) continue;
      const index = !indexed.has(task);
      indexed.add(task);
      out.push({
        key: taskKey(task.id),
        value: task,
        blob: true,
        fresh: isFresh,
        extraMutations: index ? 1 : 0,
        extra: index ? (op) => op.set([...prefix, "run_task", runId, task.id], MARK) : undefined,
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
        key: [...prefix, "event", runId, events[i].id],
        value: events.slice(i, j),
        blob: true,
        onlyIfAbsent: true,
        fresh: isFresh,
      });
      i = j;
    }
    for (const record of w.tokens?.values() ?? []) out.push(tokenWrite(record));
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
    const runId = run.run_id;
    const running: Deno.KvKey = [...prefix, "running", run.created_at, runId];
    const { blueprint: _, ...stored } = run;
    // the ctx as it is now (the value is serialized when the commit is built)
    const rest: StoredRun = stored;
    rest.blueprint_ref = blueprintRef;
    if (how.embedded) rest.embedded = how.embedded;
    return {
      key: runKey(runId),
      value: rest,
      blob: true,
      fresh: how.isFresh,
      extraMutations: how.index ? 2 : 0,
      extra: how.index
        ? (op) => {
          // (`status, <run_id>` is no longer written; older files may hold it)
          op.set(orderKey(run), run.status);
          if (run.status === "running") op.set(running, MARK);
          else if (!how.embedded) op.delete(running); // (a run stored by one commit has none)
        }
        : undefined,
    };
  }

  /** The write of a token record, with its index keys. */
  function tokenWrite(record: TokenRecord): QueuedWrite {
    const index: Deno.KvKey = record.run_id === undefined
      ? [...prefix, "free_token", record.nonce]
      : [...prefix, "run_token", record.run_id, record.nonce];
    const handle: Deno.KvKey | null = record.handle === undefined
      ? null
      : [...prefix, "token_handle", record.handle];
    // the index keys of a record this store wrote before are there already
    const known = indexed.has(record);
    indexed.add(record);
    return {
      key: [...prefix, "token", record.nonce],
      value: record,
      blob: false,
      extraMutations: known ? 0 : 2,
      extra: known ? undefined : (op) => {
        op.set(index, MARK);
        if (handle) op.set(handle, record.nonce);
      },
    };
  }

  /** A stored record with its blueprint (stored beside it, or inline in older records). */
  async function withBlueprint(stored: StoredRun): Promise<RunRecord> {
    const { blueprint_ref, embedded: _, ...record } = stored;
    // `as RunRecord`: an older record holds its blueprint inline
    if (record.blueprint !== undefined) return record as RunRecord;
    const key = blueprint_ref === undefined ? bpKey(stored.run_id) : sharedBpKey(blueprint_ref);
    const blueprint = await getJson<BlueprintNorm>(kv, key, blobs);
    if (blueprint === undefined) throw new Error(`store: blueprint of ${stored.run_id} missing`);
    return { ...record, blueprint };
  }
  const getRun = async (id: string) => {
    await queue.idle();
    const stored = await getJson<StoredRun>(kv, runKey(id), blobs);
    return stored && await withBlueprint(stored);
  };
  /** The steps and events a run's record holds (a run stored by one commit). */
  const embeddedOf = async (id: string): Promise<Embedded | undefined> =>
    (await getJson<StoredRun>(kv, runKey(id), blobs))?.embedded;
  const getTask = async (id: string) => {
    await queue.idle();
    return await getJson<TaskState>(kv, taskKey(id), blobs);
  };

  /** Deletes keys in commits of at most 500, then the chunks of their refs. */
  async function deleteAll(keys: Deno.KvKey[], refs: BlobRef[] = []): Promise<void> {
    for (let i = 0; i < keys.length; i += 500) {
      const op = kv.atomic();
      for (const key of keys.slice(i, i + 500)) op.delete(key);
      await retryKvLocked(() => op.commit());
    }
    for (const ref of refs) await deleteBlob(kv, blobs, ref);
  }

  /** Deletes one ended run and everything of it. */
  async function deleteRun(runId: string, order: Deno.KvKey): Promise<void> {
    const keys: Deno.KvKey[] = [];
    const refs: BlobRef[] = [];
    for (const sub of ["step", "journal", "event", "request"]) {
      for await (const { key, value } of kv.list<BlobRef>({ prefix: [...prefix, sub, runId] })) {
        keys.push(key);
        refs.push(value);
      }
    }
    for await (const { key } of kv.list({ prefix: [...prefix, "run_task", runId] })) {
      keys.push(key);
      const taskId = key.at(-1);
      if (typeof taskId === "string") await deleteJson(kv, taskKey(taskId), blobs);
    }
    for await (const { key } of kv.list({ prefix: [...prefix, "run_token", runId] })) {
      keys.push(key);
      const nonce = key.at(-1);
      if (typeof nonce !== "string") continue;
      const record = (await kv.get<TokenRecord>([...prefix, "token", nonce])).value;
      keys.push([...prefix, "token", nonce]);
      if (record?.handle) keys.push([...prefix, "token_handle", record.handle]);
    }
    await deleteAll(keys, refs);
    await deleteJson(kv, bpKey(runId), blobs);
    await deleteJson(kv, runKey(runId), blobs);
    await deleteAll([order, [...prefix, "status", runId]]);
  }

  async function listRefs<T>(sub: Deno.KvKey, start?: Deno.KvKey): Promise<T[]> {
    await queue.idle();
    const out: T[] = [];
    const selector = start === undefined
      ? { prefix: [...prefix, ...sub] }
      : { prefix: [...prefix, ...sub], start: [...prefix, ...start] };
    for await (const { value } of kv.list<BlobRef>(selector)) {
      out.push(await readRef<T>(kv, blobs, value));
    }
    return out;
  }

  return {
    flushed: () => queue.idle(),

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

    getRun,

    async listRuns({ limit, status }) {
      const out: RunRecord[] = [];
      if (limit <= 0) return out;
      await queue.idle();
      // the running index holds only live runs; the order index holds them all
      const index = status === "running" ? "running" : "order";
      const iter = kv.list<RunStatus | Uint8Array | null>({ prefix: [...prefix, index] }, {
        reverse: true,
        batchSize: Math.min(500, Math.max(10, limit)),
      });
      const ids: string[] = [];
      for await (const { key, value } of iter) {
        if (status !== undefined && index === "order" && value !== status) continue;
        const id = key.at(-1);
        if (typeof id === "string") ids.push(id);
        if (ids.length >= limit) break;
      }
      // read the records ten keys at a time (KV's getMany limit)
      for (let i = 0; i < ids.length; i += 10) {
        const refs = await kv.getMany<BlobRef[]>(ids.slice(i, i + 10).map(runKey));
        for (const { value } of refs) {
          if (value !== null) {
            out.push(await withBlueprint(await readRef<StoredRun>(kv, blobs, value)));
          }
        }
      }
      return out;
    },

    putStep(runId, step) {
      const w = writesOf(runId);
      (w.steps ??= new Map()).set(step.seq, step);
      return w.written;
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

    putJournal(runId, entry) {
      const w = writesOf(runId);
      (w.journal ??= new Map()).set(entry.key, entry);
      return w.written;
    },

    listJournal(runId) {
      return listRefs<JournalEntry>(["journal", runId]);
    },

    appendEvent(runId, event) {
      const w = writesOf(runId);
      (w.events ??= []).push(event);
      return w.written;
    },

    async listEvents(runId, after = 0) {
      const packs = await listRefs<RunEvent | RunEvent[]>(["event", runId]);
      const embedded = (await embeddedOf(runId))?.events ?? [];
      const all = embedded.length === 0 ? packs.flat() : [...embedded, ...packs.flat()];
      return all.filter((e) => e.id > after);
    },

    putRequest(runId, request) {
      const w = writesOf(runId);
      (w.requests ??= new Map()).set(`${request.sent_at}\n${request.req_id}`, request);
      return w.written;
    },

    listRequests(runId) {
      return listRefs<RequestRecord>(["request", runId]);
    },

    putTask(task) {
      const w = writesOf(task.run_id);
      (w.tasks ??= new Map()).set(task.id, task);
      return w.written;
    },

    getTask,

    async listTasks(runId) {
      const out: TaskState[] = [];
      await queue.idle();
      for await (const { key } of kv.list({ prefix: [...prefix, "run_task", runId] })) {
        const id = key.at(-1);
        const task = typeof id === "string" ? await getTask(id) : undefined;
        if (task) out.push(task);
      }
      return out;
    },

    putToken(record) {
      if (record.run_id === undefined) return queue.write(tokenWrite(record));
      const w = writesOf(record.run_id);
      (w.tokens ??= new Map()).set(record.nonce, record);
      return w.written;
    },

    async getToken(nonce) {
      await queue.idle();
      return (await kv.get<TokenRecord>([...prefix, "token", nonce])).value ?? undefined;
    },

    async getTokenByHandle(handle) {
      await queue.idle();
      const nonce = (await kv.get<string>([...prefix, "token_handle", handle])).value;
      if (nonce === null) return undefined;
      return (await kv.get<TokenRecord>([...prefix, "token", nonce])).value ?? undefined;
    },

    async listLiveTokens() {
      const nonces: string[] = [];
      await queue.idle();
      const collect = async (sub: Deno.KvKey) => {
        for await (const { key } of kv.list({ prefix: [...prefix, ...sub] })) {
          const nonce = key.at(-1);
          if (typeof nonce === "string") nonces.push(nonce);
        }
      };
      await collect(["free_token"]);
      for await (const { key } of kv.list({ prefix: [...prefix, "running"] })) {
        const runId = key.at(-1);
        if (typeof runId === "string") await collect(["run_token", runId]);
      }
      const out: TokenRecord[] = [];
      for (let i = 0; i < nonces.length; i += 10) {
        const keys = nonces.slice(i, i + 10).map((n): Deno.KvKey => [...prefix, "token", n]);
        for (const { value } of await kv.getMany<TokenRecord[]>(keys)) {
          if (value !== null) out.push(value);
        }
      }
      return out;
    },

    async pruneEnded(before, limit) {
      await queue.idle();
      let pruned = 0;
      const iter = kv.list<RunStatus>({
        start: [...prefix, "order"],
        end: [...prefix, "order", before],
      });
      for await (const { key, value } of iter) {
        if (pruned >= limit) break;
        const runId = key.at(-1);
        if (value === "running" || typeof runId !== "string") continue;
        const stored = await getJson<RunRecord>(kv, runKey(runId), blobs);
        if (stored?.finished_at === undefined || stored.finished_at >= before) continue;
        await deleteRun(runId, key);
        pruned++;
      }
      return pruned;
    },

    async pruneExpiredTokens(before, limit) {
      await queue.idle();
      const expired: string[] = [];
      let batch: string[] = [];
      const check = async () => {
        const keys = batch.map((n): Deno.KvKey => [...prefix, "token", n]);
        const found = await kv.getMany<TokenRecord[]>(keys);
        found.forEach(({ value }, i) => {
          if (value !== null && expiredFree(value, before)) expired.push(batch[i]);
        });
        batch = [];
      };
      for await (const { key } of kv.list({ prefix: [...prefix, "free_token"] })) {
        const nonce = key.at(-1);
        if (typeof nonce === "string") batch.push(nonce);
        if (batch.length === 10) await check();
        if (expired.length >= limit) break;
      }
      if (batch.length > 0) await check();
      const gone = expired.slice(0, limit);
      await deleteAll(gone.flatMap((n): Deno.KvKey[] => [
        [...prefix, "token", n],
        [...prefix, "free_token", n],
      ]));
      return gone.length;
    },
  };
}
