/**
 * Retention in the KV run store: deletes ended runs with everything of them, and
 * expired tokens that belong to no run. `pruneEnded` walks `order` oldest first
 * and stops at the cutoff: a run created after it cannot have finished before it.
 *
 * @module
 */
import type { TokenRecord } from "../protocol/runs.ts";
import type { BlobRef } from "./kv_blob.ts";
import type { RunStore } from "./run_store.ts";
import { expiredFree } from "./run_store.ts";
import { deleteJson, getJson } from "./_kv_json.ts";
import { deleteBlob } from "./kv_blob.ts";
import { retryKvLocked } from "./kv_retry.ts";
import { indexValue, type KvRunAccess, type StoredRun } from "./_kv_run_keys.ts";

/** The retention methods of a {@link RunStore}. */
export type KvRunRetention = Pick<RunStore, "pruneEnded" | "pruneExpiredTokens">;

/** Retention for a KV run store, each pass after `idle()`. */
export function createKvRunRetention(access: KvRunAccess): KvRunRetention {
  const { kv, keys, idle } = access;
  const { blobs } = keys;

  /** Deletes keys in commits of at most 500, then the chunks of their refs. */
  async function deleteAll(list: Deno.KvKey[], refs: BlobRef[] = []): Promise<void> {
    for (let i = 0; i < list.length; i += 500) {
      const op = kv.atomic();
      for (const key of list.slice(i, i + 500)) op.delete(key);
      await retryKvLocked(() => op.commit());
    }
    for (const ref of refs) await deleteBlob(kv, blobs, ref);
  }

  /** Deletes one ended run and everything of it. */
  async function deleteRun(stored: StoredRun, order: Deno.KvKey): Promise<void> {
    const runId = stored.run_id;
    const list: Deno.KvKey[] = [];
    const refs: BlobRef[] = [];
    const tokens = new Set(stored.embedded?.tokens);
    for (const sub of ["step", "journal", "event", "request"]) {
      for await (const { key, value } of kv.list<BlobRef>({ prefix: keys.at(sub, runId) })) {
        list.push(key);
        refs.push(value);
      }
    }
    for await (const { key } of kv.list({ prefix: keys.at("run_task", runId) })) {
      list.push(key);
      const taskId = key.at(-1);
      if (typeof taskId === "string") await deleteJson(kv, keys.task(taskId), blobs);
    }
    for await (const { key } of kv.list({ prefix: keys.at("run_token", runId) })) {
      list.push(key);
      const nonce = key.at(-1);
      if (typeof nonce === "string") tokens.add(nonce);
    }
    for (const nonce of tokens) {
      const record = (await kv.get<TokenRecord>(keys.token(nonce))).value;
      list.push(keys.token(nonce));
      if (record?.handle) list.push(keys.tokenHandle(record.handle));
    }
    await deleteAll(list, refs);
    await deleteJson(kv, keys.runBlueprint(runId), blobs);
    await deleteJson(kv, keys.run(runId), blobs);
    await deleteAll([order, keys.status(runId)]);
  }

  return {
    async pruneEnded(before, limit) {
      await idle();
      let pruned = 0;
      const iter = kv.list({ start: keys.at("order"), end: keys.at("order", before) });
      for await (const { key, value } of iter) {
        if (pruned >= limit) break;
        const runId = key.at(-1);
        if (indexValue(value).status === "running" || typeof runId !== "string") continue;
        const stored = await getJson<StoredRun>(kv, keys.run(runId), blobs);
        if (stored?.finished_at === undefined || stored.finished_at >= before) continue;
        await deleteRun(stored, key);
        pruned++;
      }
      return pruned;
    },

    async pruneExpiredTokens(before, limit) {
      await idle();
      const expired: string[] = [];
      let batch: string[] = [];
      const check = async () => {
        const found = await kv.getMany<TokenRecord[]>(batch.map(keys.token));
        found.forEach(({ value }, i) => {
          if (value !== null && expiredFree(value, before)) expired.push(batch[i]);
        });
        batch = [];
      };
      for await (const { key } of kv.list({ prefix: keys.at("free_token") })) {
        const nonce = key.at(-1);
        if (typeof nonce === "string") batch.push(nonce);
        if (batch.length === 10) await check();
        if (expired.length >= limit) break;
      }
      if (batch.length > 0) await check();
      const gone = expired.slice(0, limit);
      await deleteAll(gone.flatMap((n) => [keys.token(n), keys.at("free_token", n)]));
      return gone.length;
    },
  };
}
