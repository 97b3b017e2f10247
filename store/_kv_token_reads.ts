/**
 * The token reads of the KV run store: a record by nonce or by worker handle, and
 * the live records (free tokens, and those of running runs) that boot loads.
 * Every read waits for the writes queued before it.
 *
 * @module
 */
import type { TokenRecord } from "../protocol/runs.ts";
import type { RunStore } from "./run_store.ts";
import type { KvRunAccess } from "./_kv_run_keys.ts";

/** The token reads of a {@link RunStore}. */
export type KvTokenReads = Pick<RunStore, "getToken" | "getTokenByHandle" | "listLiveTokens">;

/** The token reads of a KV run store, each after `idle()`. */
export function createKvTokenReads(access: KvRunAccess): KvTokenReads {
  const { kv, keys, idle } = access;
  return {
    async getToken(nonce) {
      await idle();
      return (await kv.get<TokenRecord>(keys.token(nonce))).value ?? undefined;
    },

    async getTokenByHandle(handle) {
      await idle();
      const nonce = (await kv.get<string>(keys.tokenHandle(handle))).value;
      if (nonce === null) return undefined;
      return (await kv.get<TokenRecord>(keys.token(nonce))).value ?? undefined;
    },

    async listLiveTokens() {
      const nonces: string[] = [];
      await idle();
      const collect = async (sub: Deno.KvKey) => {
        for await (const { key } of kv.list({ prefix: keys.at(...sub) })) {
          const nonce = key.at(-1);
          if (typeof nonce === "string") nonces.push(nonce);
        }
      };
      await collect(["free_token"]);
      for await (const { key } of kv.list({ prefix: keys.at("running") })) {
        const runId = key.at(-1);
        if (typeof runId === "string") await collect(["run_token", runId]);
      }
      const out: TokenRecord[] = [];
      for (let i = 0; i < nonces.length; i += 10) {
        const batch = nonces.slice(i, i + 10).map(keys.token);
        for (const { value } of await kv.getMany<TokenRecord[]>(batch)) {
          if (value !== null) out.push(value);
        }
      }
      return out;
    },
  };
}
