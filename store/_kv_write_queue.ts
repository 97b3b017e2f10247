/**
 * Group commit for the KV run store: writes are queued in call order and
 * committed together, many per atomic commit, so a step's writes (token, task,
 * step record, event, journal, checkpoint) cost one fsync instead of one each.
 *
 * - **Order:** batches commit one after another, in call order; inside one batch
 *   (one atomic commit) the last write of a key wins, except for a write-once key
 *   (`onlyIfAbsent`), where the first does. So a caller may issue writes without
 *   awaiting each one: a write is never durable before the writes called before it.
 * - **Durability:** a write's promise resolves once the commit holding it (or a
 *   later write of the same key) is durable, and rejects when its write failed.
 *   Promises settle in call order.
 * - **Replaced values:** each write checks the value it replaces (its chunks are
 *   freed after the commit). The queue remembers the versionstamp and chunks of
 *   the keys it committed (a bounded map), so rewriting a key (the run record, a
 *   task) needs no read first.
 * - **Failure:** when a batch does not commit (a check failed, or KV refused it),
 *   its writes are committed again one by one with `putJson`, so each one gets
 *   exactly the single-write semantics and only a bad write fails.
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import { type BlobRef, deleteBlob, INLINE_MAX, kvSizeEstimate, putBlob } from "./kv_blob.ts";
import { putJson } from "./_kv_json.ts";
import { retryKvLocked } from "./kv_retry.ts";

/** One queued write. */
export interface QueuedWrite {
  key: Deno.KvKey;
  value: unknown;
  /** Stored through a {@link BlobRef} (chunked when large); otherwise as is (small records). */
  blob: boolean;
  /** Written once: a later write of an existing key is dropped. */
  onlyIfAbsent?: boolean;
  /** More mutations (index keys) for the commit that writes this key. */
  extra?(op: Deno.AtomicOperation): void;
}

interface Entry extends QueuedWrite {
  id: string;
  /** Estimated KV size of the value (`blob` writes), once taken. */
  size?: number;
  waiter: PromiseWithResolvers<void>;
  /** The write of the batch that stores this one (itself, or a later write of its key). */
  by?: Entry;
  /** Why the write failed, once it did. */
  failed?: { error: unknown };
}

/** What the queue knows of a key it committed: its versionstamp, and its chunks if any. */
interface Known {
  versionstamp: string;
  chunks: BlobRef | null;
}

/** Writes per commit: at most 100 checks, 1,000 mutations (KV's limits), with room for `extra`. */
const MAX_WRITES = 48;
/** Estimated bytes per commit, under KV's 800 KiB per commit. */
const MAX_BYTES = 640 * 1024;
/** What a small record or a chunked ref is counted as. */
const SMALL = 512;
/** Keys whose last commit the queue remembers (oldest forgotten first). */
const MAX_KNOWN = 8192;

/** A group-commit queue on `kv`; chunks of large values go under `blobs`. */
export function createKvWriteQueue(kv: Deno.Kv, blobs: Deno.KvKey): {
  write(write: QueuedWrite): Promise<void>;
  idle(): Promise<void>;
} {
  let queue: Entry[] = [];
  let pumping: Promise<void> | undefined;
  /** The promise of the last write queued (writes settle in call order). */
  let last: Promise<void> = Promise.resolve();
  const known = new Map<string, Known>();
  const remember = (id: string, k: Known) => {
    known.delete(id);
    if (known.size >= MAX_KNOWN) known.delete(known.keys().next().value!);
    known.set(id, k);
  };

  /** Takes the oldest writes that fit in one commit. */
  function take(): { all: Entry[]; writes: Entry[] } {
    let bytes = 0;
    let n = 0;
    while (n < queue.length && n < MAX_WRITES) {
      const e = queue[n];
      if (e.blob) e.size ??= kvSizeEstimate(e.value as Json);
      const counted = e.size === undefined || e.size > INLINE_MAX ? SMALL : e.size;
      if (n > 0 && bytes + counted > MAX_BYTES) break;
      bytes += counted;
      n++;
    }
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    // one write per key: the last one wins, the first for write-once keys
    const byId = new Map<string, Entry>();
    for (const e of batch) {
      e.by = e;
      const seen = byId.get(e.id);
      if (!seen) byId.set(e.id, e);
      else if (seen.onlyIfAbsent) e.by = seen;
      else {
        byId.delete(e.id);
        byId.set(e.id, e);
        for (const earlier of batch) if (earlier.by === seen) earlier.by = e;
      }
    }
    return { all: batch, writes: [...byId.values()] };
  }

  async function commitTogether(batch: Entry[]): Promise<boolean> {
    const refs: unknown[] = [];
    const made: BlobRef[] = [];
    let committed = false;
    try {
      for (const e of batch) {
        if (!e.blob) refs.push(e.value);
        else if ((e.size ?? kvSizeEstimate(e.value as Json)) <= INLINE_MAX) {
          refs.push({ kind: "inline", value: e.value as Json });
        } else {
          const ref = await putBlob(kv, blobs, e.value as Json, { inlineMax: 0 });
          made.push(ref);
          refs.push(ref);
        }
      }
      // the values these writes replace: checked, and their chunks freed after the
      // commit; read only when the queue has not committed the key itself
      const op = kv.atomic();
      const freed: BlobRef[] = [];
      const unknown = batch.filter((e) => e.blob && !e.onlyIfAbsent && !known.has(e.id));
      for (let i = 0; i < unknown.length; i += 10) {
        const olds = await kv.getMany<BlobRef[]>(unknown.slice(i, i + 10).map((e) => e.key));
        for (const old of olds) {
          op.check(old);
          if (old.value?.kind === "chunked") freed.push(old.value);
        }
      }
      batch.forEach((e, i) => {
        const k = known.get(e.id);
        if (e.onlyIfAbsent) op.check({ key: e.key, versionstamp: null });
        else if (e.blob && k) {
          op.check({ key: e.key, versionstamp: k.versionstamp });
          if (k.chunks) freed.push(k.chunks);
        }
        op.set(e.key, refs[i]);
        e.extra?.(op);
      });
      const res = await retryKvLocked(() => op.commit());
      if (!res.ok) return false;
      committed = true;
      batch.forEach((e, i) => {
        const ref = refs[i] as BlobRef;
        if (e.blob) {
          remember(e.id, {
            versionstamp: res.versionstamp,
            chunks: ref.kind === "chunked" ? ref : null,
          });
        }
      });
      for (const ref of freed) await deleteBlob(kv, blobs, ref);
      return true;
    } finally {
      if (!committed) { for (const ref of made) await deleteBlob(kv, blobs, ref); }
    }
  }

  async function commitOne(e: Entry): Promise<void> {
    if (e.blob) {
      await putJson(kv, e.key, blobs, e.value, { extra: e.extra, onlyIfAbsent: e.onlyIfAbsent });
      return;
    }
    const op = kv.atomic().set(e.key, e.value);
    e.extra?.(op);
    await retryKvLocked(() => op.commit());
  }

  async function pump(): Promise<void> {
    // No timer: one microtask turn, so the writes issued together join the first
    // commit; while a commit is in flight the next writes queue up, and the next
    // commit starts as soon as it returns (group commit).
    await Promise.resolve();
    try {
      while (queue.length > 0) {
        const { all, writes } = take();
        let together = false;
        try {
          together = await commitTogether(writes);
        } catch {
          // a KV error (size, lock) in the joint commit: retried one by one below
        }
        if (!together) {
          for (const e of writes) {
            known.delete(e.id);
            try {
              await commitOne(e);
            } catch (error) {
              e.failed = { error };
            }
          }
        }
        for (const e of all) {
          const failed = e.by?.failed;
          if (failed) e.waiter.reject(failed.error);
          else e.waiter.resolve();
        }
      }
    } finally {
      pumping = undefined;
    }
  }

  return {
    write(write) {
      const waiter = Promise.withResolvers<void>();
      queue.push({ ...write, id: JSON.stringify(write.key), waiter });
      pumping ??= pump();
      last = waiter.promise;
      return waiter.promise;
    },
    /**
     * Resolves once every write queued so far has settled (not the ones queued
     * later, so a read never waits for a busy queue to drain).
     */
    async idle() {
      await last.catch(() => {});
    },
  };
}
