/**
 * Boot and background work: open the stores, restore seats with their pending
 * requests, resume the runs that were running, run the idle sweep, and drain at
 * shutdown. Kept apart from main.ts so tests can boot a server the same way.
 *
 * @module
 */
import { type Config, KV_MAX_MB } from "./config.ts";
import { createDiskBudget, type DiskBudget } from "./store/disk_budget.ts";
import { kvFileUsage } from "./store/kv_file_usage.ts";
import { type AppDeps, createDeps, type CreateDepsOptions, memoryStores } from "./deps.ts";
import { CLOSE } from "./protocol/frames.ts";
import {
  releaseSeatsOfEndedRuns,
  restoreSeats,
  seatRecord,
  stopReleases,
  sweepIdleSeats,
} from "./session/seats.ts";
import { openStores } from "./store/open_stores.ts";
import { cachedBlueprintStore } from "./store/blueprint_store_cached.ts";
import {
  pruneDataRecords,
  pruneEndedRuns,
  pruneExpiredTokens,
  RUN_RETENTION_SECS,
} from "./store/run_retention.ts";
import type { OpenPgStores } from "./store/open_pg_stores.ts";
import type { RunRecord } from "./store/run_store.ts";
import type { Stores } from "./deps.ts";

/** How often idle seats are swept at most: every 300 s. */
export const SWEEP_EVERY_MS = 300_000;

/** How often idle seats are swept: every `min(300, idleSecs / 10)` seconds (at least 1 s). */
export function sweepEveryMs(idleSecs: number): number {
  return Math.max(1000, Math.min(SWEEP_EVERY_MS, (idleSecs * 1000) / 10));
}

/** The deps of a booted server, with a way to close what it opened. */
export interface OpenDeps extends AppDeps {
  /** What boot found in the store. */
  recovered: { seats: number; requests: number; runs: number };
  close(): Promise<void>;
}

/** Options of {@link openDeps}. */
export type OpenDepsOptions = Omit<CreateDepsOptions, "config" | "stores">;

/** The in-memory stores of `:memory:`: nothing to open, lock or close (SPEC §10). */
function openMemory(): Stores & { close(): void } {
  return { ...memoryStores(), close() {} };
}

/**
 * The KV stores with reads of Blueprints cached in memory (this process owns the
 * file): a run's Blueprint lookup does not wait behind the run store's commits.
 */
function withBlueprintCache<S extends Stores>(stores: S): S {
  stores.blueprints = cachedBlueprintStore(stores.blueprints);
  return stores;
}

/**
 * Opens the stores named by `config.kvPath` (`:memory:` = the in-memory stores,
 * no Deno KV at all), restores seats and their pending requests, and resumes
 * every run that was running when the last process stopped.
 */
export async function openDeps(config: Config, options: OpenDepsOptions = {}): Promise<OpenDeps> {
  // a KV file is locked by openStores: one server per file; PostgreSQL is shared (cluster.ts)
  // the PostgreSQL modules (and their driver) load only for a cluster: a single
  // server does not carry them in memory
  const stores: Stores & { close(): void | Promise<void> } = config.databaseUrl
    ? await (await import("./store/open_pg_stores.ts"))
      .openPgStores({ ...config, databaseUrl: config.databaseUrl })
    : config.kvPath === ":memory:"
    ? openMemory()
    : withBlueprintCache(await openStores(config));
  try {
    // in a cluster, runs are claimed from dead owners instead (cluster.ts)
    const running = stores.kind === "pg" ? [] : await stores.runs.listRuns({
      limit: Number.MAX_SAFE_INTEGER,
      status: "running",
    });
    const deps = await createDeps({ ...options, config, stores });
    if (stores.kind === "kv" && stores.path) deps.storage = kvDiskBudget(deps, stores.path);
    const cluster = stores.kind === "pg"
      ? await (await import("./cluster.ts")).startClusterMode(deps, stores as OpenPgStores)
      : undefined;
    const seats = cluster?.seats ?? await restoreSeats(deps);
    // each run brings its own requests back to their seats (its journal is the one record)
    const runs = cluster?.runs ?? await resumeRuns(deps, running);
    // a run's own seats end with it, also when it ended while no server ran
    if (!cluster) await releaseSeatsOfEndedRuns(deps, new Set(running.map((r) => r.run_id)));
    let requests = 0;
    for (const session of deps.sessions.values()) requests += session.pendingCount;
    if (seats + runs > 0) {
      deps.log.info("recovered from store", { path: stores.path, seats, requests, runs });
    }
    let closed = false;
    return {
      ...deps,
      recovered: { seats, requests, runs },
      async close() {
        if (closed) return;
        closed = true;
        await cluster?.stop();
        await flushAll(deps);
        await stores.close();
      },
    };
  } catch (err) {
    await stores.close();
    throw err;
  }
}

/** The byte bound of a KV file (`SWITCHBOARD_KV_MAX_MB`), checked by the background loop. */
function kvDiskBudget(deps: AppDeps, path: string): DiskBudget {
  return createDiskBudget({
    maxBytes: (deps.config.kvMaxMb ?? KV_MAX_MB) * 1024 * 1024,
    usage: () => kvFileUsage(path),
    // any ended run, oldest first, before its retention is up; then data records
    pruneOldest: async (limit) => {
      const runs = await deps.stores.runs.pruneEnded(deps.now() + 1, limit);
      if (runs >= limit) return runs;
      return runs + await deps.stores.data.pruneBefore(deps.now() + 1, limit - runs);
    },
    log: deps.log,
  });
}

/** Runs resumed at once at boot (their store reads overlap). */
const RESUME_BATCH = 32;

/**
 * Resumes `records` (default: every stored run still marked running), oldest
 * first; returns how many resumed.
 */
export async function resumeRuns(deps: AppDeps, records?: RunRecord[]): Promise<number> {
  const list = records ??
    await deps.stores.runs.listRuns({ limit: Number.MAX_SAFE_INTEGER, status: "running" });
  const oldestFirst = [...list].sort((a, b) => a.created_at - b.created_at);
  let resumed = 0;
  const resumeOne = async (record: RunRecord) => {
    try {
      if (await deps.engine.resume(record)) resumed++;
    } catch (err) {
      deps.log.error("run resume failed", { run_id: record.run_id, error: String(err) });
    }
  };
  for (let i = 0; i < oldestFirst.length; i += RESUME_BATCH) {
    await Promise.all(oldestFirst.slice(i, i + RESUME_BATCH).map(resumeOne));
  }
  return resumed;
}

/** Waits until every write issued so far is durable. */
export async function flushAll(deps: AppDeps): Promise<void> {
  await deps.engine.durable();
}

/**
 * Writes each seat's `last_seen_at` to the store when it moved (a seat with a
 * live socket is seen now), so idle expiry after a restart counts from the last
 * activity, not from the mint.
 */
export async function touchSeats(deps: AppDeps, saved: Map<string, number>): Promise<void> {
  const now = deps.now();
  for (const session of [...deps.sessions.values()]) {
    if (session.closed) continue;
    if (session.connected) session.lastSeenAt = now;
    if (saved.get(session.sid) === session.lastSeenAt) continue;
    await deps.stores.seats.putSeat(seatRecord(session));
    saved.set(session.sid, session.lastSeenAt);
    // a DELETE that raced this write must not leave the seat behind in the store
    if (session.closed) await deps.stores.seats.deleteSeat(session.sid);
  }
}

/** The background work of a server; `stop()` ends it and saves seat activity. */
export interface Background {
  /** One sweep now: save seat activity, then tear down idle seats. */
  sweep(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts the periodic idle sweep (every {@link sweepEveryMs}, and once at
 * once, so seats that went idle while the server was down expire at boot).
 */
export function startBackground(deps: AppDeps): Background {
  const idleMs = deps.config.idleSecs * 1000;
  const saved = new Map<string, number>();
  let running = Promise.resolve<string[]>([]);
  const sweep = () => {
    running = running.then(async () => {
      await touchSeats(deps, saved);
      const retention = deps.config.runRetentionSecs ?? RUN_RETENTION_SECS;
      const pruned = await pruneEndedRuns(deps.stores.runs, retention, deps.now());
      if (pruned > 0) deps.log.info("ended runs pruned", { runs: pruned });
      const records = await pruneDataRecords(deps.stores.data, retention, deps.now());
      if (records > 0) deps.log.info("data records pruned", { records });
      const tokens = await pruneExpiredTokens(deps.stores.runs, deps.now());
      if (tokens > 0) deps.log.info("expired session tokens pruned", { tokens });
      return await sweepIdleSeats(deps, idleMs);
    }).catch((err) => {
      deps.log.error("idle sweep failed", { error: String(err) });
      return [];
    });
    return running;
  };
  sweep();
  const timer = setInterval(sweep, sweepEveryMs(deps.config.idleSecs));
  let checking: Promise<void> | undefined;
  const checkStorage = () => {
    checking = deps.storage?.check().catch((err) =>
      deps.log.error("KV file check failed", { error: String(err) })
    );
  };
  checkStorage();
  const storageTimer = deps.storage
    ? setInterval(checkStorage, (deps.config.kvCheckSecs ?? 10) * 1000)
    : undefined;
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      clearInterval(storageTimer);
      await running;
      await checking;
      await touchSeats(deps, saved).catch((err) =>
        deps.log.error("saving seat activity failed", { error: String(err) })
      );
    },
  };
}

/** How long a shutdown waits for open HTTP requests (long `/v1/tasks`, SSE) before it exits. */
export const DRAIN_MS = 5_000;

/**
 * Drains a server: close operator sockets with 1001 and end the event streams
 * (their clients reconnect to the next server), stop accepting with
 * `stopServing` (Deno's graceful `server.shutdown()`), wait up to
 * {@link DRAIN_MS} for the requests still open (a long `/v1/tasks`) to be
 * answered, then save what is owed to the store and close it. Pending operator
 * requests and running runs stay in the store and are picked up by the next boot.
 */
export async function drain(
  deps: OpenDeps,
  stopServing: () => Promise<void>,
  background?: Background,
): Promise<void> {
  await background?.stop(); // saves seat activity while sockets still count as live
  stopReleases(deps);
  for (const session of deps.sessions.values()) {
    session.closeSocket(CLOSE.goingAway, "server shutdown");
  }
  deps.streams.endAll();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    stopServing(),
    new Promise<void>((resolve) => timer = setTimeout(resolve, DRAIN_MS)),
  ]);
  clearTimeout(timer);
  await deps.close();
}
