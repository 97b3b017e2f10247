/**
 * One server per KV file, by an OS lock: an exclusive lock on `<kv>.lock`, held
 * for the life of the process. The kernel drops it the moment the process dies
 * (a restart right after a SIGKILL starts at once) and keeps it while the holder
 * is paused (a SIGSTOPped server still owns its file). The holder writes its pid
 * into the file, so a refused server can say who holds it.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";

/** How long a server waits for the lock before it gives up. */
export const LOCK_WAIT_MS = 1_500;

/** A held lock. */
export interface KvLock {
  readonly path: string;
  /** Releases the lock (closing the file). */
  release(): void;
}

/**
 * Takes the exclusive lock of `<kvPath>.lock` (created 0600). `lock()` blocks,
 * so it races a timer: throws `SwitchboardError` (`conflict`) after `waitMs`.
 */
export async function lockKvFile(kvPath: string, waitMs = LOCK_WAIT_MS): Promise<KvLock> {
  const path = `${kvPath}.lock`;
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  const locking = file.lock(true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), waitMs);
  });
  const won = await Promise.race([locking.then(() => "locked" as const), timedOut]);
  clearTimeout(timer);
  if (won === "timeout") {
    // lock() goes on waiting in the background; the caller exits, which ends it.
    locking.then(() => file.close(), () => {});
    const holder = await Deno.readTextFile(path).catch(() => "");
    const pid = /^\d+$/.test(holder.trim()) ? ` (pid ${holder.trim()})` : "";
    throw new SwitchboardError(
      "conflict",
      `the KV store is in use by another Switchboard process${pid}; ` +
        "one server per SWITCHBOARD_KV file",
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      file.close();
    },
  };
}
