/**
 * Retries a Deno KV call that failed because another handle on the same SQLite
 * file held its write lock (`database is locked`). Several processes may share one
 * KV file, and KV does not wait for the lock itself.
 *
 * @module
 */

/** Options of {@link retryKvLocked}. */
export interface RetryKvLockedOptions {
  /** Tries in all. Default 50. */
  attempts?: number;
  /** Upper bound of the first random back-off in ms; it doubles per try up to 100 ms. Default 2. */
  baseDelayMs?: number;
}

/** True when `err` is KV's transient lock error. */
export function isKvLocked(err: unknown): boolean {
  return err instanceof Error && /database is locked|SQLITE_BUSY/i.test(err.message);
}

/** Runs `fn`, again after a short random back-off while it fails with a lock error. */
export async function retryKvLocked<T>(
  fn: () => Promise<T>,
  options: RetryKvLockedOptions = {},
): Promise<T> {
  const { attempts = 50, baseDelayMs = 2 } = options;
  for (let i = 1;; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isKvLocked(err) || i >= attempts) throw err;
      const cap = Math.min(100, baseDelayMs * 2 ** (i - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }
}
