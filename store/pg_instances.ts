/**
 * The cluster's members: one row per instance in `sb_instances`, with a
 * heartbeat written by the instance itself (in the database's clock, so the
 * instances' clocks need not agree). An instance whose heartbeat is older than
 * the lease is dead: the others may take over what it owned.
 *
 * @module
 */
import type { Sql } from "./pg_sql.ts";

/** One member as listed. */
export interface InstanceInfo {
  id: string;
  url: string;
  started_at: string;
  heartbeat_at: string;
  /** Seconds since the last heartbeat, by the database's clock. */
  heartbeat_age_secs: number;
  alive: boolean;
  /** Runs and connected seats: as reported by the heartbeat (the doctor counts them from the rows). */
  runs: number;
  seats: number;
}

/** What a heartbeat reports. */
export interface InstanceLoad {
  runs: number;
  seats: number;
}

/** Options of {@link startInstance}. */
export interface StartInstanceOptions {
  id: string;
  /** The instance's public URL, for the doctor. */
  url: string;
  /** Seconds after the last heartbeat when an instance counts as dead. */
  leaseSecs: number;
  /** What the heartbeat reports; default zeros. */
  load?: () => InstanceLoad;
  /** Called when a heartbeat fails (the next one retries). */
  onError?: (err: unknown) => void;
}

/** A registered instance that keeps beating until {@link Instance.stop}. */
export interface Instance {
  readonly id: string;
  /** Writes one heartbeat now. */
  beat(): Promise<void>;
  /** Every member, live or not, sorted by id. */
  list(): Promise<InstanceInfo[]>;
  /** Stops beating and removes the row (a clean exit). */
  stop(): Promise<void>;
}

/** How often an instance beats: three times per lease, at least every 2 s. */
export function beatEveryMs(leaseSecs: number): number {
  return Math.max(100, Math.min(2_000, Math.floor((leaseSecs * 1000) / 3)));
}

/** Lists the members of the cluster on `sql`. */
export async function listInstances(sql: Sql, leaseSecs: number): Promise<InstanceInfo[]> {
  const rows = await sql`SELECT id, url, started_at, heartbeat_at, runs, seats,
      extract(epoch FROM now() - heartbeat_at)::float8 AS age
    FROM sb_instances ORDER BY id COLLATE "C"`;
  return rows.map((r) => ({
    id: r.id,
    url: r.url,
    started_at: new Date(r.started_at).toISOString(),
    heartbeat_at: new Date(r.heartbeat_at).toISOString(),
    heartbeat_age_secs: Math.max(0, Math.round(r.age * 1000) / 1000),
    alive: r.age < leaseSecs,
    runs: r.runs,
    seats: r.seats,
  }));
}

/**
 * Registers this instance (replacing a row of the same id left by an earlier
 * process) and beats every {@link beatEveryMs}.
 */
export async function startInstance(sql: Sql, options: StartInstanceOptions): Promise<Instance> {
  const { id, url, leaseSecs, load = () => ({ runs: 0, seats: 0 }), onError } = options;
  await sql`INSERT INTO sb_instances (id, url, started_at, heartbeat_at)
    VALUES (${id}, ${url}, now(), now())
    ON CONFLICT (id) DO UPDATE SET url = excluded.url, started_at = now(), heartbeat_at = now()`;
  let stopped = false;
  let inFlight = Promise.resolve();
  const beat = () => {
    inFlight = inFlight.then(async () => {
      if (stopped) return;
      const { runs, seats } = load();
      await sql`UPDATE sb_instances SET heartbeat_at = now(), runs = ${runs}, seats = ${seats}
        WHERE id = ${id}`;
    }).catch((err) => onError?.(err));
    return inFlight;
  };
  const timer = setInterval(beat, beatEveryMs(leaseSecs));
  return {
    id,
    beat,
    list: () => listInstances(sql, leaseSecs),
    async stop() {
      clearInterval(timer);
      await inFlight;
      stopped = true;
      await sql`DELETE FROM sb_instances WHERE id = ${id}`.catch((err) => onError?.(err));
    },
  };
}
