/**
 * Where the token authority keeps its records across restarts, and how it saves
 * them.
 *
 * @module
 */
import type { TokenRecord } from "../protocol/runs.ts";

/** Where token records are kept across restarts. */
export interface TokenPersistence {
  putToken(record: TokenRecord): Promise<void>;
  /** A stored record, for tokens no longer held in memory (ended runs). */
  getToken?(nonce: string): Promise<TokenRecord | undefined>;
  getTokenByHandle?(handle: string): Promise<TokenRecord | undefined>;
}

/** The saves of {@link tokenSaver}. */
export interface TokenSaver {
  /** Saves one record (resolves at once without persistence). */
  save(record: TokenRecord): Promise<void>;
  /** Saves records one after another, without an async call for none or one. */
  saveEnded(ended: TokenRecord[]): Promise<void>;
}

const DONE = Promise.resolve();

/** Saves records to `persist`, if any. */
export function tokenSaver(persist: TokenPersistence | undefined): TokenSaver {
  const save = (record: TokenRecord) => persist?.putToken(record) ?? Promise.resolve();
  const saveAll = async (ended: TokenRecord[]) => {
    for (const record of ended) await save(record);
  };
  // each step ends a few records: none or one is saved without an async call
  const saveEnded = (ended: TokenRecord[]): Promise<void> => {
    if (ended.length === 0) return DONE;
    if (ended.length > 1) return saveAll(ended);
    try {
      return save(ended[0]);
    } catch (err) {
      return Promise.reject(err); // as the async form would
    }
  };
  return { save, saveEnded };
}
