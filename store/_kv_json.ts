/**
 * JSON records of any size under one KV key, for the KV stores of this folder:
 * the key holds a {@link BlobRef} (the value inline, or a ref to chunks under
 * `blobs`), swapped atomically so a reader never sees a half-written value.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { Json } from "../protocol/json.ts";
import { type BlobRef, deleteBlob, getBlob, putBlob } from "./kv_blob.ts";
import { retryKvLocked } from "./kv_retry.ts";

/** Attempts of one compare-and-swap before giving up under contention. */
const MAX_ATTEMPTS = 100;

/** Options of {@link putJson}. */
export interface PutJsonOptions {
  /** Adds checks and mutations to the commit that swaps the ref in. */
  extra?(op: Deno.AtomicOperation): void;
  /** Only write when the key is absent; false is returned when it was not. */
  onlyIfAbsent?: boolean;
}

/**
 * Stores `value` at `key` (its chunks, if any, under `blobs`) and frees the chunks
 * of the value it replaced. Returns false when `onlyIfAbsent` found a value, or
 * when a check added by `extra` failed.
 */
export async function putJson(
  kv: Deno.Kv,
  key: Deno.KvKey,
  blobs: Deno.KvKey,
  value: unknown,
  options: PutJsonOptions = {},
): Promise<boolean> {
  // Records are plain JSON data (the stores' own types); see kv_blob for the limits.
  const ref = await putBlob(kv, blobs, value as Json);
  let committed = false;
  try {
    if (options.onlyIfAbsent && !options.extra) {
      // one round trip: the commit itself checks that the key is absent
      const op = kv.atomic().check({ key, versionstamp: null }).set(key, ref);
      committed = (await retryKvLocked(() => op.commit())).ok;
      return committed;
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const old = await kv.get<BlobRef>(key);
      if (options.onlyIfAbsent && old.value !== null) return false;
      const op = kv.atomic().check(old).set(key, ref);
      options.extra?.(op);
      const res = await retryKvLocked(() => op.commit());
      if (res.ok) {
        committed = true;
        if (old.value !== null) await deleteBlob(kv, blobs, old.value);
        return true;
      }
      // a check of `extra` failed, or another writer swapped the key: look again
      if (options.extra && (await kv.get<BlobRef>(key)).versionstamp === old.versionstamp) {
        return false;
      }
    }
    throw new SwitchboardError("conflict", `store: key busy: ${JSON.stringify(key)}`);
  } finally {
    if (!committed) await deleteBlob(kv, blobs, ref);
  }
}

/** Reads the value at `key`, or undefined (also when it is deleted while being read). */
export async function getJson<T>(
  kv: Deno.Kv,
  key: Deno.KvKey,
  blobs: Deno.KvKey,
): Promise<T | undefined> {
  const { value, versionstamp } = await kv.get<BlobRef>(key);
  if (value === null) return undefined;
  // the value was written by putJson from a T
  return await orGone(kv, key, versionstamp, () => getBlob(kv, blobs, value) as Promise<T>);
}

/**
 * `read()`, or undefined when it fails because `key` (read at `versionstamp`) was
 * deleted or replaced meanwhile (retention or the disk bound deleting a run a list
 * was reading: its chunks go after its key).
 */
export async function orGone<T>(
  kv: Deno.Kv,
  key: Deno.KvKey,
  versionstamp: string | null,
  read: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if ((await kv.get(key)).versionstamp !== versionstamp) return undefined;
    throw err;
  }
}

/** Reads the value behind a ref listed from KV. */
export async function readRef<T>(kv: Deno.Kv, blobs: Deno.KvKey, ref: BlobRef): Promise<T> {
  // the value was written by putJson from a T
  return await getBlob(kv, blobs, ref) as T;
}

/** Deletes `key` and the chunks of its value. */
export async function deleteJson(kv: Deno.Kv, key: Deno.KvKey, blobs: Deno.KvKey): Promise<void> {
  const old = await kv.get<BlobRef>(key);
  if (old.value === null) return;
  const res = await retryKvLocked(() => kv.atomic().check(old).delete(key).commit());
  if (res.ok) await deleteBlob(kv, blobs, old.value);
}
