/**
 * Group commit for the KV run store: writes are queued in call order and
 * committed together, many per atomic commit, so a step's writes (token, task,
 * step record, event, journal, checkpoint) cost one fsync instead of one each.
 *
 * - **Order:** batches commit one after another, in call order; inside one batch
 *   (one atomic commit) the last write of a key wins, except for a write-once key
 *   (`onlyIfAbsent`), where the first does. So a caller may issue writes without
 *   awaiting each one: a write is never durable before the writes called before it.
 * - **Groups:** `group(expand)` holds the place of writes made later, when the
 *   queue takes it (a run's records: their last state only). Its writes are
 *   ordered by the group's place, not by when their state was reached: across
 *   groups (runs), only what one commit holds is atomic.
 * - **Limits:** a commit holds at most 400 writes, 96 checks, 960 mutations,
 *   about 640 KiB of values and 72 KiB of keys (KV: 100 checks, 1,000
 *   mutations, 800 KiB in all, 80 KiB of keys); more waits for the next commit.
 * - **Durability:** a write's promise resolves once the commit holding it (or a
 *   later write of the same key) is durable, and rejects when its write failed;
 *   a group's once all its writes are. `idle()` waits for everything queued.
 * - **Values:** a small value is stored as its JSON text (computed for its size
 *   anyway): KV copies a string instead of serializing the object again.
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
import { setImmediate } from "node:timers";
import type { Json } from "../protocol/json.ts";
import {
  type BlobRef,
  chunksOf,
  deleteBlob,
  INLINE_MAX,
  kvSizeEstimate,
  putBlob,
} from "./kv_blob.ts";
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
  /** How many mutations `extra` adds (default 0); a commit holds at most 1,000. */
  extraMutations?: number;
  /**
   * The key is new to the store unless this queue wrote it (a record of a run this
   * process started): no check and no read of what it replaces (one process owns
   * the file); the chunks of a value this queue stored are still freed.
   */
  fresh?: boolean;
  /** Called when the write is taken into a commit: its value must not change after. */
  seal?(): void;
}

interface Entry extends QueuedWrite {
  id: string;
  /** Estimated KV size of the value (`blob` writes), once taken: an upper bound. */
  size?: number;
  /** Estimated bytes of the value for the batch limit (twice its JSON length). */
  bytes?: number;
  /** The value's JSON text, when it is stored as such (a small value). */
  text?: string;
  /** The JSON text of a value too large for that, until its chunks are written. */
  json?: string;
  /** Settled with the write (a write of a group has none: its group settles). */
  waiter?: PromiseWithResolvers<void>;
  /** The write of the batch that stores this one (itself, or a later write of its key). */
  by?: Entry;
  /** Why the write failed, once it did. */
  failed?: { error: unknown };
  /** A group not taken yet: makes its writes. */
  expand?: () => QueuedWrite[];
  /** A group taken: how many of its writes are not committed yet. */
  left?: number;
  /** The group this write belongs to. */
  group?: Entry;
}

/** What the queue knows of a key it committed: its versionstamp, and its chunks if any. */
interface Known {
  versionstamp: string;
  chunks: BlobRef | null;
}

/** Writes per commit. */
const MAX_WRITES = 400;
/** Checks per commit, under KV's 100. */
const MAX_CHECKS = 96;
/** Mutations per commit, under KV's 1,000. */
const MAX_MUTATIONS = 960;
/** Estimated bytes per commit, under KV's 800 KiB per commit. */
const MAX_BYTES = 640 * 1024;
/** Estimated bytes of the keys of a commit, under KV's 80 KiB. */
const MAX_KEY_BYTES = 72 * 1024;
/** What a small record or a chunked ref is counted as. */
const SMALL = 512;
/** Keys whose last commit the queue remembers (oldest forgotten first). */
const MAX_KNOWN = 8192;

/**
 * The estimated KV size of a value: twice its JSON text's length when that is
 * under the inline limit (it is then stored as that text), else the walk of
 * `kvSizeEstimate`, for a value that may still fit inline as itself.
 */
function sizeOf(e: Entry): number {
  if (e.size !== undefined) return e.size;
  const text = JSON.stringify(e.value) ?? "null";
  const length = text.length;
  e.bytes = 2 * length + 64;
  // Stored as its JSON text (KV copies a string as is, instead of serializing the
  // object again) when even two bytes a character stay under the inline limit.
  if (2 * length + 8 <= INLINE_MAX) {
    e.text = text;
    return e.size = 2 * length + 8;
  }
  // Chunks are right for any value, inline only for a small one: a text over twice
  // the inline limit is chunked without walking the value for a closer figure.
  e.size = length > 2 * INLINE_MAX ? length : kvSizeEstimate(e.value as Json, INLINE_MAX);
  if (e.size > INLINE_MAX) e.json = text; // its chunks are this text
  return e.size;
}

/** An upper bound of the bytes of a key as KV encodes it (KV limits a commit's keys to 80 KiB). */
function keySize(key: Deno.KvKey): number {
  let size = 0;
  for (const part of key) {
    if (typeof part === "string") {
      // deno-lint-ignore no-control-regex
      size += 2 + (/^[\x01-\x7f]*$/.test(part) ? part.length : 3 * part.length);
    } else if (part instanceof Uint8Array) size += 2 + 2 * part.length;
    else if (typeof part === "bigint") size += 2 + Math.ceil(part.toString(16).length / 2);
    else size += 9; // a number (a boolean is 1)
  }
  return size;
}

/** A group-commit queue on `kv`; chunks of large values go under `blobs`. */
export function createKvWriteQueue(kv: Deno.Kv, blobs: Deno.KvKey): {
  write(write: QueuedWrite): Promise<void>;
  /**
   * Queues a group of writes made only when the queue takes it (`expand` is
   * called once, then): a caller gathers writes that supersede each other (one
   * run's records) and the queue writes only their last state. The group's
   * place in the call order is that of this call; its writes may commit over
   * several commits (KV's limits), and its promise settles once all have. The
   * writes `expand` returns become the queue's own (they must be fresh objects).
   */
  group(expand: () => QueuedWrite[]): Promise<void>;
  idle(): Promise<void>;
} {
  /** Queued writes from `head` on (taken writes before it are dropped in bulk). */
  let queue: Entry[] = [];
  let head = 0;
  /** The writes of a group taken in part: they go before the queue's head. */
  let front: Entry[] = [];
  let frontAt = 0;
  let pumping: Promise<void> | undefined;
  /** The promise of the last write queued (writes settle in call order). */
  let last: Promise<void> = Promise.resolve();
  const known = new Map<string, Known>();
  const remember = (id: string, k: Known) => {
    known.delete(id);
    if (known.size >= MAX_KNOWN) known.delete(known.keys().next().value!);
    known.set(id, k);
  };

  /** Whether a write adds a check to its commit. */
  const checks = (e: Entry) => !e.fresh && (e.onlyIfAbsent || e.blob);

  /** Takes the oldest writes that fit in one commit (KV's limits: checks, mutations, bytes). */
  function take(): { all: Entry[]; writes: Entry[] } {
    let bytes = 0;
    let nChecks = 0;
    let mutations = 0;
    let keyBytes = 0;
    let real = 0;
    const batch: Entry[] = [];
    while (real < MAX_WRITES) {
      const e = frontAt < front.length ? front[frontAt] : queue[head];
      if (e === undefined) break;
      if (e.expand) {
        // a group: its writes are made now and come next (the group stays as a marker)
        let subs: Entry[] = [];
        try {
          subs = e.expand() as Entry[];
        } catch (error) {
          e.failed = { error };
        }
        for (const sub of subs) {
          sub.id = JSON.stringify(sub.key);
          sub.group = e;
        }
        e.expand = undefined;
        e.left = subs.length;
        head++;
        batch.push(e);
        front = subs;
        frontAt = 0;
        continue;
      }
      let counted = SMALL;
      if (e.blob && sizeOf(e) <= INLINE_MAX) counted = e.bytes ?? SMALL;
      const c = checks(e) ? 1 : 0;
      const m = 1 + (e.extraMutations ?? 0);
      // the index keys of `extra` are taken as the write's own key and 32 bytes more
      const k = (1 + c) * keySize(e.key) + (m - 1) * (keySize(e.key) + 32);
      if (real > 0) {
        if (bytes + counted > MAX_BYTES || keyBytes + k > MAX_KEY_BYTES) break;
        if (nChecks + c > MAX_CHECKS || mutations + m > MAX_MUTATIONS) break;
      }
      bytes += counted;
      keyBytes += k;
      nChecks += c;
      mutations += m;
      real++;
      batch.push(e);
      if (frontAt < front.length) frontAt++;
      else head++;
    }
    if (frontAt >= front.length) {
      front = [];
      frontAt = 0;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > 4096 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    for (const e of batch) e.seal?.();
    // one write per key: the last one wins, the first for write-once keys
    const byId = new Map<string, Entry>();
    for (const e of batch) {
      if (e.left !== undefined) continue;
      e.by = e;
      const seen = byId.get(e.id);
      if (!seen) byId.set(e.id, e);
      else if (seen.onlyIfAbsent) e.by = seen;
      else {
        byId.delete(e.id);
        byId.set(e.id, e);
        seen.by = e; // and whatever `seen` stood for (followed below)
      }
    }
    for (const e of batch) {
      let by = e.by;
      while (by !== undefined && by.by !== by) by = by.by;
      e.by = by;
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
        else if (sizeOf(e) <= INLINE_MAX) {
          refs.push(e.text ?? { kind: "inline", value: e.value as Json });
        } else {
          const ref = await putBlob(kv, blobs, e.value as Json, { inlineMax: 0, text: e.json });
          e.json = undefined;
          made.push(ref);
          refs.push(ref);
        }
      }
      // The values these writes replace are checked, and their chunks freed after
      // the commit. A key the queue has not committed itself is assumed absent (a
      // new run's keys): when it is not, the check fails and the batch is written
      // again one by one below (putJson reads what it replaces). No read first.
      // A fresh key (a run this process started) needs no check at all.
      const op = kv.atomic();
      const freed: BlobRef[] = [];
      batch.forEach((e, i) => {
        const k = known.get(e.id);
        if (e.blob && k?.chunks) freed.push(k.chunks);
        if (e.fresh) {
          // one process owns the file: nobody else writes a fresh key
        } else if (e.onlyIfAbsent || (e.blob && !k)) {
          op.check({ key: e.key, versionstamp: null });
        } else if (e.blob && k) op.check({ key: e.key, versionstamp: k.versionstamp });
        op.set(e.key, refs[i]);
        e.extra?.(op);
      });
      const res = await retryKvLocked(() => op.commit());
      if (!res.ok) return false;
      committed = true;
      batch.forEach((e, i) => {
        const chunks = e.blob ? chunksOf(refs[i] as BlobRef) : null;
        // a fresh key is remembered only for its chunks (nothing to check)
        if (e.blob && (!e.fresh || chunks || known.has(e.id))) {
          remember(e.id, { versionstamp: res.versionstamp, chunks });
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
    // No timer delay: one turn of the event loop first, so the frames and answers
    // the caller just sent go out before the commit's own work, and the writes
    // issued across that turn join the first commit. While a commit is in flight
    // the next writes queue up, and the next commit starts as soon as it returns.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (queue.length > 0 || frontAt < front.length) {
        const { all, writes } = take();
        let together = writes.length === 0;
        try {
          if (!together) together = await commitTogether(writes);
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
          if (e.left !== undefined) {
            // a group: settled with its last write (some may be in later commits)
            if (e.left === 0) settle(e, e.failed);
            continue;
          }
          const failed = e.by?.failed;
          const group = e.group;
          if (!group) settle(e, failed);
          else {
            group.failed ??= failed;
            if (--group.left! === 0) settle(group, group.failed);
          }
        }
      }
    } finally {
      pumping = undefined;
    }
  }

  function settle(e: Entry, failed: { error: unknown } | undefined): void {
    if (failed) e.waiter?.reject(failed.error);
    else e.waiter?.resolve();
  }

  function push(e: Entry): Promise<void> {
    const waiter = Promise.withResolvers<void>();
    e.waiter = waiter;
    queue.push(e);
    pumping ??= pump();
    last = waiter.promise;
    return waiter.promise;
  }

  return {
    write(write) {
      return push({ ...write, id: JSON.stringify(write.key) });
    },
    group(expand) {
      return push({ key: [], value: null, blob: false, expand, id: "" });
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
