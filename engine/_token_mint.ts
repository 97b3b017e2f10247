/**
 * Minting in the token authority: worker tokens with their handles (bound to a
 * task), and session tokens. Each minted token gets its record.
 *
 * @module
 */
import { type CapToken, encodeToken, type Role, signToken } from "./captoken.ts";
import { randomHex } from "./crypto.ts";
import type { TokenRecord } from "../protocol/runs.ts";
import type { TokenRecords } from "./_token_records.ts";
import { frozenToken, type TokenCache } from "./_token_cache.ts";

/** A minted worker token. */
export interface MintedWorker {
  /** Frozen, and known to the authority as signed (what `decode(encoded)` answers). */
  token: CapToken;
  encoded: string;
  handle: string;
}

/** What {@link createTokenMinter} works with. */
export interface TokenMinterOptions {
  key: CryptoKey;
  /** Signs synchronously (the authority holds the raw secret). */
  signSync?: (unsigned: Omit<CapToken, "sig_hex">) => CapToken;
  now(): number;
  records: TokenRecords;
  cache: TokenCache;
  save(record: TokenRecord): Promise<void>;
}

/** The minting of {@link createTokenMinter}. */
export interface TokenMinter {
  /**
   * Mints a worker token and handle bound to a task: at once when the authority
   * holds the raw secret (the step path takes no extra turn), else through WebCrypto.
   */
  mintWorker(
    taskId: string,
    runId: string,
    ttlSecs: number,
    maxUses?: number | null,
  ): MintedWorker | Promise<MintedWorker>;
  /** Mints a token not bound to a task (sessions). */
  mintSession(agentId: string, role: Role, ttlSecs: number): Promise<CapToken>;
}

/** Mints tokens signed with `key`, recorded in `records` and saved with `save`. */
export function createTokenMinter(options: TokenMinterOptions): TokenMinter {
  const { key, signSync, now, records, cache, save } = options;

  /** Records a just-signed worker token: its handle, record, cache entry and encoding. */
  const minted = (
    signed: CapToken,
    taskId: string,
    runId: string,
    maxUses: number | null,
  ): MintedWorker => {
    // frozen: the caller, the cache and its verified marks share this one object
    const token = frozenToken(signed);
    // 128 random bits: a handle cannot be guessed
    let handle = `wh-${randomHex(16)}`;
    while (records.handleNonce(handle) !== undefined) handle = `wh-${randomHex(16)}`;
    const record: TokenRecord = {
      nonce: token.nonce,
      role: "worker",
      run_id: runId,
      task_id: taskId,
      uses_left: maxUses,
      ended: false,
      handle,
      expire_at: token.expire_at,
    };
    records.remember(record);
    // Written behind (the store keeps call order): the step path never waits on it.
    save(record).catch(() => {}); // the record in memory is the one that counts until a restart
    const encoded = encodeToken(token);
    cache.addSigned(encoded, token); // signed here with `key`
    return { token, encoded, handle };
  };

  return {
    mintWorker(taskId, runId, ttlSecs, maxUses = null) {
      const issued = Math.floor(now() / 1000);
      const unsigned = {
        agent_id: `worker-of-${taskId}`,
        role: "worker" as const,
        scopes: ["*"],
        issued_at: issued,
        expire_at: issued + ttlSecs,
        max_uses: maxUses,
        nonce: randomHex(16),
      };
      if (signSync) return minted(signSync(unsigned), taskId, runId, maxUses);
      return signToken(key, unsigned).then((token) => minted(token, taskId, runId, maxUses));
    },

    async mintSession(agentId, role, ttlSecs) {
      const issued = Math.floor(now() / 1000);
      const token = await signToken(key, {
        agent_id: agentId,
        role,
        scopes: ["*"],
        issued_at: issued,
        expire_at: issued + ttlSecs,
        max_uses: null,
        nonce: randomHex(16),
      });
      const record: TokenRecord = {
        nonce: token.nonce,
        role,
        uses_left: null,
        ended: false,
        expire_at: token.expire_at, // so retention can delete it once it has expired
      };
      records.remember(record);
      await save(record);
      return token;
    },
  };
}
