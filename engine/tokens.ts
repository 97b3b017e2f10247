/**
 * The token authority: mints worker tokens and handles, keeps their server-side
 * records, and verifies them in the 0.1.2 order (signature, expiry, role × verb,
 * record, use count, task), plus Switchboard's rule that a token of a run that
 * has ended stops working (410). Its jobs live in modules of their own: the
 * records in memory (`_token_records.ts`), the decode cache (`_token_cache.ts`),
 * minting (`_token_mint.ts`), verification (`_token_verify.ts`) and saving
 * (`_token_save.ts`).
 *
 * @module
 */
import { type CapToken, tokenSigner } from "./captoken.ts";
import type { TokenRecord } from "../protocol/runs.ts";
import { createTokenRecords } from "./_token_records.ts";
import { createTokenCache } from "./_token_cache.ts";
import { type TokenPersistence, tokenSaver } from "./_token_save.ts";
import { createTokenMinter, type TokenMinter } from "./_token_mint.ts";
import { createTokenVerifier, type TokenVerifier } from "./_token_verify.ts";

export { TokenError, type TokenErrorKind } from "./_token_error.ts";
export { RETIRED_TOKENS_MAX } from "./_token_records.ts";
export { TOKEN_CACHE_SIZE } from "./_token_cache.ts";
export type { MintedWorker } from "./_token_mint.ts";
export type { TokenPersistence, TokenRecord };

/** Options of {@link createTokenAuthority}. */
export interface TokenAuthorityOptions {
  key: CryptoKey;
  /** The raw bytes of `key`: when given, worker tokens are signed synchronously. */
  secret?: Uint8Array;
  now(): number;
  persist?: TokenPersistence;
  /** Records to start with (after a restart). */
  records?: TokenRecord[];
  /** Records of ended runs kept for 410 answers (default {@link RETIRED_TOKENS_MAX}). */
  retiredMax?: number;
}

const HANDLE = /^wh-[A-Za-z0-9]{2,61}$/;

/** True when a bearer looks like a worker handle (`wh-` + alphanumerics, 5–64 chars). */
export function isHandle(bearer: string): boolean {
  return HANDLE.test(bearer);
}

/** The token authority of {@link createTokenAuthority}. */
export interface TokenAuthority extends TokenMinter, TokenVerifier {
  /** Decodes an encoded token, frozen (throws `TokenDecodeError`). Remembered by string. */
  decode(encoded: string): CapToken;
  /**
   * Drops a session token's record from memory (a detached or expired
   * `/v1/sessions` session); the token stops verifying. The stored record is
   * marked ended (written behind), so it does not verify again after a restart.
   */
  forget(nonce: string): void;
  /** Takes over stored records minted elsewhere (a run claimed from another instance). */
  adopt(list: Iterable<TokenRecord>): void;
  /** The record of a nonce, if any. */
  record(nonce: string): TokenRecord | undefined;
  /** Marks every token of a task `task_ended`: handles expire with their task, tokens with their run. */
  endTask(taskId: string): Promise<void>;
  /**
   * Marks every token of a run ended; later uses answer 410. The records then
   * leave the live maps (memory stays bounded by {@link RETIRED_TOKENS_MAX}).
   */
  endRun(runId: string): Promise<void>;
  /** How many token records are held in memory: live and retired. */
  sizes(): { live: number; retired: number };
}

/** Creates a token authority. */
export function createTokenAuthority(options: TokenAuthorityOptions): TokenAuthority {
  const { key, now, persist } = options;
  const signSync = options.secret ? tokenSigner(options.secret) : undefined;
  const records = createTokenRecords(options.records ?? [], options.retiredMax);
  const cache = createTokenCache();
  const { save, saveEnded } = tokenSaver(persist);
  const { mintWorker, mintSession } = createTokenMinter({
    key,
    signSync,
    now,
    records,
    cache,
    save,
  });
  const { verify, byHandle } = createTokenVerifier({ key, now, persist, records, cache, save });
  return {
    mintWorker,
    mintSession,
    decode: cache.decode,
    verify,
    byHandle,
    forget(nonce) {
      const record = records.dropSession(nonce);
      if (record && !record.ended) save({ ...record, ended: true }).catch(() => {});
    },
    adopt: records.adopt,
    record: records.lookup,
    endTask: (taskId) => saveEnded(records.endTask(taskId)),
    endRun: (runId) => saveEnded(records.endRun(runId)),
    sizes: records.sizes,
  };
}
