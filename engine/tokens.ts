/**
 * The token authority: mints worker tokens and handles, keeps their server-side
 * records, and verifies them in the 0.1.2 order (signature, expiry, role × verb,
 * record, use count, task), plus Switchboard's rule that a token of a run that
 * has ended stops working (410).
 *
 * @module
 */
import {
  type CapToken,
  checkSignature,
  decodeToken,
  encodeToken,
  type Role,
  ROLE_VERBS,
  roleDebug,
  signToken,
  tokenSigner,
  type Verb,
  verbDebug,
} from "./captoken.ts";
import { randomHex } from "./crypto.ts";
import type { TokenRecord } from "../protocol/runs.ts";

/** Why a token was refused; routes map each kind to a status. */
export type TokenErrorKind =
  | "signature"
  | "expired"
  | "role"
  | "not_found"
  | "exhausted"
  | "task_mismatch"
  | "ended";

/** A refused token. The message is the 0.1.2 text. */
export class TokenError extends Error {
  readonly kind: TokenErrorKind;
  constructor(kind: TokenErrorKind, message: string) {
    super(message);
    this.name = "TokenError";
    this.kind = kind;
  }
}

export type { TokenRecord };

/** Where token records are kept across restarts. */
export interface TokenPersistence {
  putToken(record: TokenRecord): Promise<void>;
  /** A stored record, for tokens no longer held in memory (ended runs). */
  getToken?(nonce: string): Promise<TokenRecord | undefined>;
  getTokenByHandle?(handle: string): Promise<TokenRecord | undefined>;
}

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

/** A minted worker token. */
export interface MintedWorker {
  /** Frozen, and known to the authority as signed (what `decode(encoded)` answers). */
  token: CapToken;
  encoded: string;
  handle: string;
}

const HANDLE = /^wh-[A-Za-z0-9]{2,61}$/;

/** How many encoded tokens the authority remembers decoded (oldest dropped first). */
export const TOKEN_CACHE_SIZE = 4096;

/**
 * How many records of ended runs are kept in memory, so their tokens and handles
 * answer 410. Older ones are dropped (they then answer 401, as after a restart).
 */
export const RETIRED_TOKENS_MAX = 65_536;

/** A decoded token that nobody can change afterwards (its MAC result stays true). */
function frozenToken(token: CapToken): CapToken {
  Object.freeze(token.scopes);
  return Object.freeze(token);
}

/** True when a bearer looks like a worker handle (`wh-` + alphanumerics, 5–64 chars). */
export function isHandle(bearer: string): boolean {
  return HANDLE.test(bearer);
}

const DONE = Promise.resolve();

/** Adds `nonce` to the nonces held under `id`. */
function addNonce(index: Map<string, string | Set<string>>, id: string, nonce: string): void {
  const held = index.get(id);
  if (held === undefined) index.set(id, nonce);
  else if (typeof held === "string") {
    if (held !== nonce) index.set(id, new Set([held, nonce]));
  } else held.add(nonce);
}

/** The nonces held under one id, as an iterable. */
function noncesOf(held: string | Set<string> | undefined): Iterable<string> {
  return held === undefined ? [] : typeof held === "string" ? [held] : held;
}

/** Creates a token authority. */
export function createTokenAuthority(options: TokenAuthorityOptions) {
  const { key, now, persist } = options;
  const signSync = options.secret ? tokenSigner(options.secret) : undefined;
  const retiredMax = options.retiredMax ?? RETIRED_TOKENS_MAX;
  const records = new Map<string, TokenRecord>();
  const handles = new Map<string, string>();
  // A run's or task's nonces: most have one, held as the string itself (no set or
  // array a run), more as a Set.
  const byRun = new Map<string, string | Set<string>>();
  const byTask = new Map<string, string | Set<string>>();
  // Records of ended runs, oldest first, bounded by RETIRED_TOKENS_MAX.
  const retired = new Map<string, TokenRecord>();
  const retiredHandles = new Map<string, string>();
  const lookup = (nonce: string) => records.get(nonce) ?? retired.get(nonce);
  const handleNonce = (handle: string) => handles.get(handle) ?? retiredHandles.get(handle);

  /** Moves a run's records out of the live maps into the bounded retired ones. */
  const retire = (runId: string) => {
    const held = byRun.get(runId);
    if (held === undefined) return;
    byRun.delete(runId);
    for (const nonce of noncesOf(held)) {
      const record = records.get(nonce);
      if (!record) continue;
      records.delete(nonce);
      retired.set(nonce, record);
      if (record.task_id) byTask.delete(record.task_id);
      if (record.handle) {
        handles.delete(record.handle);
        retiredHandles.set(record.handle, nonce);
      }
    }
    if (retired.size <= retiredMax) return;
    // Drop the oldest quarter in one pass, so the cost is amortised.
    let drop = retired.size - retiredMax + (retiredMax >> 2);
    for (const [nonce, record] of retired) {
      if (drop-- <= 0) break;
      retired.delete(nonce);
      if (record.handle) retiredHandles.delete(record.handle);
    }
  };

  const remember = (record: TokenRecord) => {
    records.set(record.nonce, record);
    if (record.handle) handles.set(record.handle, record.nonce);
    if (record.run_id) {
      addNonce(byRun, record.run_id, record.nonce);
    }
    if (record.task_id) {
      addNonce(byTask, record.task_id, record.nonce);
    }
  };
  for (const record of options.records ?? []) remember(record);

  // Encoded string → its decoded token, frozen. `verified` holds the tokens of
  // this map whose MAC has checked out, so a token seen again skips the decode
  // and the HMAC; a forged token is another string, another object, and is
  // checked (and refused) every time. Expiry, role, record, uses, ended and task
  // are checked on every use.
  const decoded = new Map<string, CapToken>();
  const verified = new WeakSet<CapToken>();
  const cache = (encoded: string, token: CapToken): void => {
    // Clearing when full keeps inserts O(1); deleting the first key of a Map that
    // has seen many deletes walks its holes.
    if (decoded.size >= TOKEN_CACHE_SIZE) decoded.clear();
    decoded.set(encoded, token);
  };
  const save = (record: TokenRecord) => persist?.putToken(record) ?? Promise.resolve();
  /**
   * Marks the live records of `nonces` ended at once (in memory, so a failed save
   * never leaves one working) and returns those that changed, to be saved.
   */
  const markEnded = (nonces: Iterable<string> | undefined): TokenRecord[] => {
    const changed: TokenRecord[] = [];
    for (const nonce of nonces ?? []) {
      const record = records.get(nonce);
      if (record && !record.ended) {
        record.ended = true;
        changed.push(record);
      }
    }
    return changed;
  };
  const saveAll = async (ended: TokenRecord[]) => {
    for (const record of ended) await save(record);
  };
  /** {@link saveAll} without an async call for none or one record (each step ends a few). */
  const saveEnded = (ended: TokenRecord[]): Promise<void> => {
    if (ended.length === 0) return DONE;
    if (ended.length > 1) return saveAll(ended);
    try {
      return save(ended[0]);
    } catch (err) {
      return Promise.reject(err); // as the async form would
    }
  };

  /** Records a just-signed worker token: its handle, record, cache entry and encoding. */
  const minted = (
    signed: CapToken,
    taskId: string,
    runId: string,
    maxUses: number | null,
  ): MintedWorker => {
    // frozen: the caller, the cache and `verified` share this one object
    const token = frozenToken(signed);
    // 128 random bits: a handle cannot be guessed
    let handle = `wh-${randomHex(16)}`;
    while (handleNonce(handle) !== undefined) handle = `wh-${randomHex(16)}`;
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
    remember(record);
    // Written behind (the store keeps call order): the step path never waits on it.
    save(record).catch(() => {}); // the record in memory is the one that counts until a restart
    const encoded = encodeToken(token);
    verified.add(token); // signed here with `key`
    cache(encoded, token);
    return { token, encoded, handle };
  };

  return {
    /**
     * Mints a worker token and handle bound to a task: at once when the authority
     * holds the raw secret (the step path takes no extra turn), else through WebCrypto.
     */
    mintWorker(
      taskId: string,
      runId: string,
      ttlSecs: number,
      maxUses: number | null = null,
    ): MintedWorker | Promise<MintedWorker> {
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

    /** Mints a token not bound to a task (sessions). */
    async mintSession(agentId: string, role: Role, ttlSecs: number): Promise<CapToken> {
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
      remember(record);
      await save(record);
      return token;
    },

    /** Decodes an encoded token, frozen (throws `TokenDecodeError`). Remembered by string. */
    decode(encoded: string): CapToken {
      const known = decoded.get(encoded);
      if (known) return known;
      const token = frozenToken(decodeToken(encoded));
      cache(encoded, token);
      return token;
    },

    /**
     * Verifies a token for a verb and, for worker tokens, a task. Consumes one use.
     * Throws {@link TokenError}.
     */
    async verify(token: CapToken, verb: Verb, taskId?: string): Promise<TokenRecord> {
      if (!verified.has(token)) {
        if (!(await checkSignature(key, token))) {
          throw new TokenError("signature", "token signature invalid");
        }
        if (Object.isFrozen(token) && Object.isFrozen(token.scopes)) verified.add(token);
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
      const record = lookup(token.nonce);
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

    /**
     * The record behind a worker handle, which shares its token's expiry and use
     * count (one use is consumed). Throws `not_found`, `ended`, `expired` or
     * `exhausted`.
     */
    async byHandle(handle: string): Promise<TokenRecord> {
      const nonce = handleNonce(handle);
      const record = nonce === undefined ? undefined : lookup(nonce);
      if (!record || record.task_id === undefined) {
        if ((await persist?.getTokenByHandle?.(handle))?.ended) {
          throw new TokenError("ended", "the task of this worker handle has ended");
        }
        throw new TokenError("not_found", "worker handle not found");
      }
      if (record.ended) throw new TokenError("ended", "the task of this worker handle has ended");
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

    /**
     * Drops a session token's record from memory (a detached or expired
     * `/v1/sessions` session); the token stops verifying. The stored record is
     * marked ended (written behind), so it does not verify again after a restart.
     */
    forget(nonce: string): void {
      const record = records.get(nonce);
      if (!record || record.run_id !== undefined) return;
      records.delete(nonce);
      if (!record.ended) save({ ...record, ended: true }).catch(() => {});
    },

    /** Takes over stored records minted elsewhere (a run claimed from another instance). */
    adopt(list: Iterable<TokenRecord>): void {
      for (const record of list) if (!records.has(record.nonce)) remember({ ...record });
    },

    /** The record of a nonce, if any. */
    record(nonce: string): TokenRecord | undefined {
      return lookup(nonce);
    },

    /** Marks every token of a task ended (handles expire with their task). */
    endTask(taskId: string): Promise<void> {
      return saveEnded(markEnded(noncesOf(byTask.get(taskId))));
    },

    /**
     * Marks every token of a run ended; later uses answer 410. The records then
     * leave the live maps (memory stays bounded by {@link RETIRED_TOKENS_MAX}).
     */
    endRun(runId: string): Promise<void> {
      const ended = markEnded(noncesOf(byRun.get(runId)));
      retire(runId);
      return saveEnded(ended);
    },

    /** How many token records are held in memory: live and retired. */
    sizes(): { live: number; retired: number } {
      return { live: records.size, retired: retired.size };
    },
  };
}

/** The token authority's type. */
export type TokenAuthority = ReturnType<typeof createTokenAuthority>;
