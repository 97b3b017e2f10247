/**
 * One server per KV file. Runs and seats live in the memory of the process that
 * resumed them, so a second server on the same file would resume the same runs
 * twice. The lease is a KV entry naming its holder's pid, renewed every
 * {@link LEASE_RENEW_MS} and expiring after {@link LEASE_TTL_MS}. A lease is
 * stale (taken over at once) when it is expired, when its pid is ours (a
 * restarted container), or when `/proc` shows the pid is gone (a SIGKILLed
 * server on this host).
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import { retryKvLocked } from "./kv_retry.ts";

/** How often a held lease is renewed. */
export const LEASE_RENEW_MS = 5_000;
/** How long a lease lives without renewal. */
export const LEASE_TTL_MS = 20_000;

/** The stored lease. */
export interface LeaseRecord {
  owner: string;
  pid: number;
  renewed_at: number;
}

/** A held lease. */
export interface KvLease {
  readonly owner: string;
  /** Stops renewing and deletes the lease if it is still ours. */
  release(): Promise<void>;
}

/** Options of {@link acquireLease}. */
export interface AcquireLeaseOptions {
  key?: Deno.KvKey;
  pid?: number;
  now?: () => number;
  /** True/false when the pid is known alive/dead on this host, undefined when unknown. */
  isAlive?: (pid: number) => boolean | undefined;
}

/** Whether `/proc/<pid>` exists (Linux); undefined where there is no `/proc`. */
export function procAlive(pid: number): boolean | undefined {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      try {
        Deno.statSync("/proc/self");
        return false;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/**
 * Takes the lease of `kv`. Throws `SwitchboardError` (`conflict`) when another
 * live process holds it.
 */
export async function acquireLease(
  kv: Deno.Kv,
  options: AcquireLeaseOptions = {},
): Promise<KvLease> {
  const {
    key = ["instance", "lease"],
    pid = Deno.pid,
    now = Date.now,
    isAlive = procAlive,
  } = options;
  const owner = crypto.randomUUID();
  const record = (): LeaseRecord => ({ owner, pid, renewed_at: now() });
  for (let attempt = 0;; attempt++) {
    const held = await kv.get<LeaseRecord>(key);
    const other = held.value;
    if (other !== null) {
      const stale = other.pid === pid || isAlive(other.pid) === false ||
        now() - other.renewed_at > LEASE_TTL_MS;
      if (!stale) {
        throw new SwitchboardError(
          "conflict",
          `the KV store is in use by another Switchboard process (pid ${other.pid}); ` +
            "one server per SWITCHBOARD_KV file",
        );
      }
    }
    const res = await retryKvLocked(() =>
      kv.atomic().check(held).set(key, record(), { expireIn: LEASE_TTL_MS }).commit()
    );
    if (res.ok) break;
    if (attempt >= 10) throw new SwitchboardError("conflict", "the KV store lease is contended");
  }

  const renew = async () => {
    const held = await kv.get<LeaseRecord>(key);
    if (held.value !== null && held.value.owner !== owner) return; // taken over: leave it
    await retryKvLocked(() =>
      kv.atomic().check(held).set(key, record(), { expireIn: LEASE_TTL_MS }).commit()
    );
  };
  const timer = setInterval(() => {
    renew().catch(() => {}); // the store closing under a renewal is harmless
  }, LEASE_RENEW_MS);
  Deno.unrefTimer(timer);
  let released = false;
  return {
    owner,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const held = await kv.get<LeaseRecord>(key);
      if (held.value?.owner === owner) {
        await retryKvLocked(() => kv.atomic().check(held).delete(key).commit());
      }
    },
  };
}
