/**
 * JSON values of any size in Deno KV. KV limits one value to 64 KiB and one atomic
 * commit to 800 KiB, so a small value is kept inline in its {@link BlobRef}, and a
 * large one is written first, as UTF-8 JSON chunks under a fresh blob id (over
 * several commits if needed), and referenced by a small ref. The record holding the
 * ref can then be swapped atomically; readers never see a half-written blob.
 *
 * Keys: `[...prefix, blobId, chunkIndex]` → `Uint8Array`.
 *
 * A writer that dies between writing the chunks and committing the ref leaves the
 * chunks behind (they are unreachable, never wrong). Callers delete a blob only
 * after the record that referenced it is gone.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { Json } from "../protocol/json.ts";
import { retryKvLocked } from "./kv_retry.ts";

/**
 * Where a JSON value lives: in the ref itself (as its JSON text, or as the value),
 * or in chunks under `id`. JSON-serializable.
 */
export type BlobRef = string | PutRef;

/** What {@link putBlob} makes: the value inline, or a ref to its chunks. */
export type PutRef =
  | { kind: "inline"; value: Json }
  | { kind: "chunked"; id: string; chunks: number; bytes: number };

/** The chunks a ref points to, if any. */
export function chunksOf(ref: BlobRef): Extract<PutRef, { kind: "chunked" }> | null {
  return typeof ref !== "string" && ref.kind === "chunked" ? ref : null;
}

/** Largest estimated KV size kept inline by default (the record around the ref needs room too). */
export const INLINE_MAX = 60 * 1024;
/** Bytes per chunk. A chunk is stored as raw bytes, so it may use almost all of a 64 KiB value. */
export const CHUNK_BYTES = 60 * 1024;
/** Chunks per atomic commit, under KV's 800 KiB per commit. */
const CHUNKS_PER_COMMIT = 12;
/** Deletes per atomic commit, under KV's 1000 mutations per commit. */
const DELETES_PER_COMMIT = 500;

/** Options of {@link putBlob}. */
export interface PutBlobOptions {
  /** Largest estimated KV size to keep inline; 0 always chunks. Default {@link INLINE_MAX}. */
  inlineMax?: number;
  /** The value's JSON text, when the caller has it already. */
  text?: string;
}

/**
 * An upper bound of the bytes KV needs for `value` (its V8 serialization): strings
 * outside Latin-1 take two bytes per UTF-16 unit, every number nine bytes. The
 * walk stops once the bound passes `limit` (what callers compare it with): a
 * value of 150,000 keys was walked whole, 200 ms, only to be found too large.
 */
export function kvSizeEstimate(value: Json, limit = Infinity): number {
  let size = 4; // serializer header
  // (values may hold `undefined` fields: they are counted, not taken for the end)
  const stack: (Json | undefined)[] = [value];
  while (stack.length > 0 && size <= limit) {
    const v = stack.pop();
    if (v === undefined || v === null || typeof v === "boolean") size += 1;
    else if (typeof v === "number") size += 9;
    else if (typeof v === "string") size += stringSize(v);
    else if (Array.isArray(v)) {
      size += 16;
      // a spread overflows on 150,000 items
      for (let i = 0; i < v.length && size + i <= limit; i++) stack.push(v[i]);
    } else {
      size += 12;
      for (const k of Object.keys(v)) {
        if (size > limit) break;
        size += stringSize(k);
        stack.push(v[k]);
      }
    }
  }
  return size;
}

function stringSize(s: string): number {
  // deno-lint-ignore no-control-regex
  return 6 + (/^[\x00-\xff]*$/.test(s) ? s.length : 2 * s.length);
}

/**
 * Stores `value`: inline when its estimated size is at most `inlineMax`, otherwise
 * as chunks under a fresh id below `prefix`. Returns the ref to keep.
 */
export async function putBlob(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  value: Json,
  options: PutBlobOptions = {},
): Promise<PutRef> {
  const { inlineMax = INLINE_MAX, text } = options;
  if (kvSizeEstimate(value, inlineMax) <= inlineMax) return { kind: "inline", value };
  const bytes = new TextEncoder().encode(text ?? JSON.stringify(value));
  const id = crypto.randomUUID();
  const chunks = Math.ceil(bytes.length / CHUNK_BYTES);
  for (let first = 0; first < chunks; first += CHUNKS_PER_COMMIT) {
    const op = kv.atomic();
    for (let i = first; i < Math.min(chunks, first + CHUNKS_PER_COMMIT); i++) {
      op.set([...prefix, id, i], bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
    }
    const res = await retryKvLocked(() => op.commit());
    if (!res.ok) throw new SwitchboardError("internal", `store: blob write failed: id=${id}`);
  }
  return { kind: "chunked", id, chunks, bytes: bytes.length };
}

/**
 * Reads the value a ref points to. Throws `SwitchboardError` (`internal`,
 * `store: blob incomplete: id=<id>`) when chunks are missing, for example after
 * {@link deleteBlob}.
 */
export async function getBlob(kv: Deno.Kv, prefix: Deno.KvKey, ref: BlobRef): Promise<Json> {
  if (typeof ref === "string") return JSON.parse(ref);
  if (ref.kind === "inline") return ref.value;
  const bytes = new Uint8Array(ref.bytes);
  let count = 0;
  let offset = 0;
  for await (const entry of kv.list<Uint8Array>({ prefix: [...prefix, ref.id] })) {
    const chunk = entry.value;
    if (entry.key.at(-1) !== count || offset + chunk.length > ref.bytes) break;
    bytes.set(chunk, offset);
    offset += chunk.length;
    count++;
  }
  if (count !== ref.chunks || offset !== ref.bytes) {
    throw new SwitchboardError("internal", `store: blob incomplete: id=${ref.id}`);
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Deletes the chunks of a ref (nothing to do for an inline ref). */
export async function deleteBlob(kv: Deno.Kv, prefix: Deno.KvKey, ref: BlobRef): Promise<void> {
  if (typeof ref === "string" || ref.kind === "inline") return;
  for (let first = 0; first < ref.chunks; first += DELETES_PER_COMMIT) {
    const op = kv.atomic();
    for (let i = first; i < Math.min(ref.chunks, first + DELETES_PER_COMMIT); i++) {
      op.delete([...prefix, ref.id, i]);
    }
    await retryKvLocked(() => op.commit());
  }
}
