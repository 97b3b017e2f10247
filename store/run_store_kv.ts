/**
 * The Deno KV run store. Values that may grow with user data (the run record with
 * its ctx, journal entries, events, tasks) go through `_kv_json.ts`, so a value
 * over 64 KiB is chunked. Keys, below `prefix` (default `["runs"]`):
 *
 * - `run, <run_id>` → the run record's `BlobRef`, without its blueprint (older
 *   records hold it inline);
 * - `run_bp, <run_id>` → `BlobRef` of the run's blueprint, written once per run and
 *   process (a checkpoint per step would otherwise rewrite it every time);
 * - `order, <created_at>, <run_id>` → its status (newest-first listing);
 * - `status, <run_id>` → its status;
 * - `running, <created_at>, <run_id>` → null while it runs (boot reads only these);
 * - `step, <run_id>, <seq>` → `BlobRef` of a {@link StepRecord};
 * - `journal, <run_id>, <step key>` → `BlobRef` of a {@link JournalEntry};
 * - `event, <run_id>, <id>` → `BlobRef` of a {@link RunEvent}, written once;
 * - `task, <task_id>` → `BlobRef` of a `TaskState`; `run_task, <run_id>, <task_id>` → null;
 * - `token, <nonce>` → a `TokenRecord`, indexed by `run_token, <run_id>, <nonce>`
 *   (or `free_token, <nonce>` without a run) → null, so boot reads only live ones;
 * - `token_handle, <handle>` → the nonce of the worker token behind a handle;
 * - `request, <run_id>, <sent_at>, <req_id>` → `BlobRef` of a `RequestRecord` (its latest state);
 * - `blob, …` → chunks (store/kv_blob.ts).
 *
 * `pruneEnded` (retention) walks `order` oldest first and stops at the cutoff:
 * a run created after it cannot have finished before it.
 *
 * Writes go through a group-commit queue (`_kv_write_queue.ts`): they are applied
 * in call order, many per atomic commit, and reads wait for the writes queued
 * before them.
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
import { deleteJson, getJson, readRef } from "./_kv_json.ts";
import { deleteBlob } from "./kv_blob.ts";
import { retryKvLocked } from "./kv_retry.ts";
import { createKvWriteQueue } from "./_kv_write_queue.ts";

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
  /** Per run, the event pack queued and not yet taken into a commit (events join it). */
  const eventPacks = new Map<string, { events: RunEvent[]; written: Promise<void> }>();
  /** Runs this process started and that still run: their keys are new to the file. */
  const fresh = new Set<string>();

  /** A stored record with its blueprint (stored beside it, or inline in older records). */
  async function withBlueprint(
    stored: Omit<RunRecord, "blueprint"> & { blueprint?: BlueprintNorm; blueprint_ref?: string },
  ): Promise<RunRecord> {
    const { blueprint_ref, ...record } = stored;
    // `as RunRecord`: an older record holds its blueprint inline
    if (record.blueprint !== undefined) return record as RunRecord;
    const key = blueprint_ref === undefined ? bpKey(stored.run_id) : sharedBpKey(blueprint_ref);
    const blueprint = await getJson<BlueprintNorm>(kv, key, blobs);
    if (blueprint === undefined) throw new Error(`store: blueprint of ${stored.run_id} missing`);
    return { ...record, blueprint };
  }
  const getRun = async (id: string) => {
    await queue.idle();
    const stored = await getJson<RunRecord>(kv, runKey(id), blobs);
    return stored && await withBlueprint(stored);
  };
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
      const isFresh = fresh.has(runId);
      const ends = run.status !== "running";
      if (ends) fresh.delete(runId);
      const running: Deno.KvKey = [...prefix, "running", run.created_at, runId];
      const { blueprint, ...stored } = run;
      // the checkpoint as of now: the flow goes on mutating ctx in place
      // (kept shared with init_ctx while they are one object: stored once)
      const rest: Omit<RunRecord, "blueprint"> & { blueprint_ref?: string } =
        stored.ctx === stored.init_ctx
          ? { ...stored }
          : { ...stored, ctx: structuredClone(stored.ctx) };
      // One Blueprint object (runs of one inline or stored Blueprint share it) is
      // written once, under an id of its own; the record names it.
      let shared = sharedBlueprints.get(blueprint);
      if (!shared) {
        const id = crypto.randomUUID();
        const written = queue.write({
          key: sharedBpKey(id),
          value: blueprint,
          blob: true,
          fresh: true,
        });
        shared = { id, written };
        sharedBlueprints.set(blueprint, shared);
        written.catch(() => sharedBlueprints.delete(blueprint)); // written again next time
      }
      rest.blueprint_ref = shared.id;
      const record = queue.write({
        key: runKey(runId),
        value: rest,
        blob: true,
        fresh: isFresh,
        runId,
        starts: options.created,
        ends,
        extraMutations: 3,
        extra(op) {
          op.set(orderKey(run), run.status).set([...prefix, "status", runId], run.status);
          if (run.status === "running") op.set(running, null);
          else op.delete(running);
        },
      });
      return Promise.all([shared.written, record]).then(() => {});
    },

    getRun,

    async listRuns({ limit, status }) {
      const out: RunRecord[] = [];
      if (limit <= 0) return out;
      await queue.idle();
      // the running index holds only live runs; the order index holds them all
      const index = status === "running" ? "running" : "order";
      const iter = kv.list<RunStatus | null>({ prefix: [...prefix, index] }, {
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
            out.push(await withBlueprint(await readRef<RunRecord>(kv, blobs, value)));
          }
        }
      }
      return out;
    },

    putStep(runId, step) {
      return queue.write({
        key: [...prefix, "step", runId, step.seq],
        value: step,
        blob: true,
        fresh: fresh.has(runId),
      });
    },

    listSteps(runId) {
      return listRefs<StepRecord>(["step", runId]);
    },

    putJournal(runId, entry) {
      return queue.write({
        key: [...prefix, "journal", runId, entry.key],
        value: entry,
        blob: true,
        fresh: fresh.has(runId),
        runId,
        resumeOnly: true,
      });
    },

    listJournal(runId) {
      return listRefs<JournalEntry>(["journal", runId]);
    },

    appendEvent(runId, event) {
      // The events a run appends before the queue takes them are one write: an
      // array under the first one's id (older files hold one event a key).
      const open = eventPacks.get(runId);
      if (open && open.events.at(-1)!.id === event.id - 1) {
        open.events.push(event);
        return open.written;
      }
      const pack = { events: [event], written: Promise.resolve() };
      eventPacks.set(runId, pack);
      pack.written = queue.write({
        key: [...prefix, "event", runId, event.id],
        value: pack.events,
        blob: true,
        onlyIfAbsent: true,
        fresh: fresh.has(runId),
        seal: () => {
          if (eventPacks.get(runId) === pack) eventPacks.delete(runId);
        },
      });
      return pack.written;
    },

    async listEvents(runId, after = 0) {
      const packs = await listRefs<RunEvent | RunEvent[]>(["event", runId]);
      return packs.flat().filter((e) => e.id > after);
    },

    putRequest(runId, request) {
      return queue.write({
        key: [...prefix, "request", runId, request.sent_at, request.req_id],
        value: request,
        blob: true,
        fresh: fresh.has(runId),
        runId,
        resumeOnly: true,
      });
    },

    listRequests(runId) {
      return listRefs<RequestRecord>(["request", runId]);
    },

    putTask(task) {
      return queue.write({
        key: taskKey(task.id),
        value: task,
        blob: true,
        fresh: fresh.has(task.run_id),
        runId: task.run_id,
        // a task whose worker holds a token answers 410 after its run: kept
        resumeOnly: task.attempts.every((a) => a.nonce === undefined),
        extraMutations: 1,
        extra: (op) => op.set([...prefix, "run_task", task.run_id, task.id], null),
      });
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
      const index: Deno.KvKey = record.run_id === undefined
        ? [...prefix, "free_token", record.nonce]
        : [...prefix, "run_token", record.run_id, record.nonce];
      const handle: Deno.KvKey | null = record.handle === undefined
        ? null
        : [...prefix, "token_handle", record.handle];
      return queue.write({
        key: [...prefix, "token", record.nonce],
        value: record,
        blob: false,
        extraMutations: 2,
        extra: (op) => {
          op.set(index, null);
          if (handle) op.set(handle, record.nonce);
        },
      });
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
  };
}
