/**
 * Verification in the token authority, in the 0.1.2 order (signature, expiry,
 * role × verb, record, use count, task), plus Switchboard's rule that a token of
 * a run that has ended stops working (410); and the same checks for a worker
 * handle. Expiry, role, record, uses, ended and task are checked on every use.
 *
 * @module
 */
import {
  type CapToken,
  checkSignature,
  ROLE_VERBS,
  roleDebug,
  type Verb,
  verbDebug,
} from "./captoken.ts";
import type { TokenRecord } from "../protocol/runs.ts";
import { TokenError } from "./_token_error.ts";
import type { TokenRecords } from "./_token_records.ts";
import type { TokenCache } from "./_token_cache.ts";
import type { TokenPersistence } from "./_token_save.ts";

/** What {@link createTokenVerifier} works with. */
export interface TokenVerifierOptions {
  key: CryptoKey;
  now(): number;
  persist?: TokenPersistence;
  records: TokenRecords;
  cache: TokenCache;
  save(record: TokenRecord): Promise<void>;
}

/** The checks of {@link createTokenVerifier}. */
export interface TokenVerifier {
  /**
   * Verifies a token for a verb and, for worker tokens, a task. Consumes one use.
   * Throws {@link TokenError}.
   */
  verify(token: CapToken, verb: Verb, taskId?: string): Promise<TokenRecord>;
  /**
   * The record behind a worker handle, which shares its token's expiry and use
   * count (one use is consumed). Throws `not_found`, `ended`, `expired` or
   * `exhausted`.
   */
  byHandle(handle: string): Promise<TokenRecord>;
}

/** Verifies tokens signed with `key` against `records` (then `persist`, for ended runs). */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { key, now, persist, records, cache, save } = options;
  return {
    async verify(token, verb, taskId) {
      if (!cache.isVerified(token)) {
        if (!(await checkSignature(key, token))) {
          throw new TokenError("signature", "token signature invalid");
        }
        cache.markVerified(token);
      }
      if (Math.floor(now() / 1000) >= token.expire_at) {
        throw new TokenError("expired", "token expired");
      }
      if (!ROLE_VERBS[token.role].includes(verb)) {
        throw new TokenError(
          "role",
          `role violation: role=${roleDebug(token.role)} verb=${verbDebug(verb)}`,
        );
      }
      const record = records.lookup(token.nonce);
      if (!record) {
        // Not in memory: an ended run's token that was dropped or that ended
        // before a restart still answers "ended" from the store.
        if ((await persist?.getToken?.(token.nonce))?.ended) {
          throw new TokenError("ended", "the run of this token has ended");
        }
        throw new TokenError("not_found", `token not found in store (nonce=${token.nonce})`);
      }
      if (record.ended) throw new TokenError("ended", "the run of this token has ended");
      if (record.uses_left !== null) {
        if (record.uses_left <= 0) throw new TokenError("exhausted", "token uses exhausted");
        record.uses_left--;
        await save(record);
      }
      if (taskId !== undefined && token.role === "worker") {
        if (record.task_id === undefined) {
          throw new TokenError("not_found", `token not found in store (nonce=${token.nonce})`);
        }
        if (record.task_id !== taskId) {
          // never name the task the token is bound to: it belongs to someone else
          throw new TokenError("task_mismatch", `token task mismatch: not bound to ${taskId}`);
        }
      }
      return record;
    },

    async byHandle(handle) {
      const nonce = records.handleNonce(handle);
      const record = nonce === undefined ? undefined : records.lookup(nonce);
      if (!record || record.task_id === undefined) {
        const stored = await persist?.getTokenByHandle?.(handle);
        if (stored?.ended || stored?.task_ended) {
          throw new TokenError("ended", "the task of this worker handle has ended");
        }
        // the 0.1.2 text (reference/http.md §5.1); it names only what the caller sent
        throw new TokenError("not_found", `token not found in store (nonce=handle=${handle})`);
      }
      if (record.ended || record.task_ended) {
        throw new TokenError("ended", "the task of this worker handle has ended");
      }
      if (record.expire_at !== undefined && Math.floor(now() / 1000) >= record.expire_at) {
        throw new TokenError("expired", "worker handle expired");
      }
      if (record.uses_left !== null) {
        if (record.uses_left <= 0) {
          throw new TokenError("exhausted", "worker handle uses exhausted");
        }
        record.uses_left--;
        await save(record);
      }
      return record;
    },
  };
}
