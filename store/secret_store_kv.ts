/**
 * The Deno KV secret store: the first writer of `secret, hmac` wins, atomically,
 * so several processes on one KV file agree on one key.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { SecretStore } from "./secret_store.ts";
import { retryKvLocked } from "./kv_retry.ts";

/** Options of {@link createKvSecretStore}. */
export interface KvSecretStoreOptions {
  /** Key prefix. Default `["secret"]`. */
  prefix?: Deno.KvKey;
}

/** Creates a {@link SecretStore} on `kv`. The caller owns `kv` and closes it. */
export function createKvSecretStore(kv: Deno.Kv, options: KvSecretStoreOptions = {}): SecretStore {
  const key: Deno.KvKey = [...(options.prefix ?? ["secret"]), "hmac"];
  return {
    async getOrCreateSecret(candidate) {
      for (let attempt = 0; attempt < 10; attempt++) {
        const stored = await kv.get<string>(key);
        if (stored.value !== null) return stored.value;
        const res = await retryKvLocked(() =>
          kv.atomic().check(stored).set(key, candidate).commit()
        );
        if (res.ok) return candidate;
      }
      throw new SwitchboardError("internal", "store: secret could not be read or written");
    },
  };
}
