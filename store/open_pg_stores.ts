/**
 * Opens the stores named by `SWITCHBOARD_DATABASE_URL`: migrates the schema
 * (under an advisory lock), builds every store on one pool, and opens the
 * cluster's bus. Membership (the instance row and its heartbeat) starts once
 * the server knows what to report, with {@link PgCluster.join}.
 *
 * @module
 */
import type { BlueprintStore } from "./blueprint_store.ts";
import type { DataStore } from "./data_store.ts";
import type { SeatStore } from "./seat_store.ts";
import type { SecretStore } from "./secret_store.ts";
import { createPgRunStore, type PgRunStore } from "./run_store_pg.ts";
import { createPgSeatStore } from "./seat_store_pg.ts";
import { createPgBlueprintStore } from "./blueprint_store_pg.ts";
import { createPgDataStore } from "./data_store_pg.ts";
import { createPgSecretStore } from "./secret_store_pg.ts";
import { type Bus, openBus } from "./pg_bus.ts";
import {
  type Instance,
  type InstanceInfo,
  type InstanceLoad,
  listInstances,
  startInstance,
} from "./pg_instances.ts";
import { migrate } from "./pg_schema.ts";
import { runsByOwner } from "./pg_run_owner.ts";
import { seatsByInstance } from "./pg_seats.ts";
import { openSql, type Sql } from "./pg_sql.ts";

export { RUN_EVENTS_TOPIC } from "./pg_write_batch.ts";

/** The cluster side of a PostgreSQL-backed server. */
export interface PgCluster {
  readonly sql: Sql;
  readonly bus: Bus;
  readonly instanceId: string;
  readonly leaseSecs: number;
  /** Registers this instance and starts its heartbeat, reporting `load()`. */
  join(load: () => InstanceLoad, onError?: (err: unknown) => void): Promise<Instance>;
  /** Every member of the cluster. */
  list(): Promise<InstanceInfo[]>;
  /** Handles a run this instance owned that another instance has taken over. */
  onRunLost(handler: (runId: string) => void): void;
}

/** Stores on one PostgreSQL database (the shape of deps.ts `Stores`), and the way to close them. */
export interface OpenPgStores {
  kind: "pg";
  /** The database URL without its password. */
  path: string;
  seats: SeatStore;
  blueprints: BlueprintStore;
  runs: PgRunStore;
  data: DataStore;
  secrets: SecretStore;
  cluster: PgCluster;
  close(): Promise<void>;
}

/** Options of {@link openPgStores}: the config fields it reads. */
export interface PgStoresConfig {
  databaseUrl: string;
  instanceId: string;
  runLeaseSecs: number;
  publicUrl: string;
}

/** The URL with any password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

/** Connects, migrates, and builds the stores and the bus. */
export async function openPgStores(config: PgStoresConfig): Promise<OpenPgStores> {
  const sql = openSql(config.databaseUrl, {
    applicationName: `switchboard ${config.instanceId}`,
    idleInTransactionMs: config.runLeaseSecs * 1000,
  });
  let bus: Bus | undefined;
  let instance: Instance | undefined;
  try {
    await migrate(sql);
    bus = await openBus(sql, { instanceId: config.instanceId });
  } catch (err) {
    await sql.end({ timeout: 1 });
    throw err;
  }
  const openedBus = bus;
  let closed: Promise<void> | undefined;
  const lostHandlers = new Set<(runId: string) => void>();
  // the write-behind batches: one statement at a time, planned once (a batch
  // planned at each execution cost PostgreSQL about 1 ms more)
  const writer = openSql(config.databaseUrl, {
    max: 1,
    applicationName: `switchboard ${config.instanceId} writer`,
    genericPlans: true,
  });
  const runs = createPgRunStore(sql, {
    instanceId: config.instanceId,
    writer,
    onFenced: (runId) => lostHandlers.forEach((h) => h(runId)),
  });
  return {
    kind: "pg",
    path: redactUrl(config.databaseUrl),
    seats: createPgSeatStore(sql, openedBus),
    runs,
    blueprints: createPgBlueprintStore(sql),
    data: createPgDataStore(sql),
    secrets: createPgSecretStore(sql),
    cluster: {
      sql,
      bus: openedBus,
      instanceId: config.instanceId,
      leaseSecs: config.runLeaseSecs,
      async join(load, onError) {
        instance = await startInstance(sql, {
          id: config.instanceId,
          url: config.publicUrl,
          leaseSecs: config.runLeaseSecs,
          load,
          onError,
        });
        return instance;
      },
      async list() {
        // runs and seats per instance from the rows (the heartbeat's figures lag)
        const [instances, runs, seats] = await Promise.all([
          listInstances(sql, config.runLeaseSecs),
          runsByOwner(sql),
          seatsByInstance(sql),
        ]);
        return instances.map((i) => ({
          ...i,
          runs: runs.get(i.id) ?? 0,
          seats: seats.get(i.id) ?? 0,
        }));
      },
      onRunLost(handler) {
        lostHandlers.add(handler);
      },
    },
    close() {
      closed ??= (async () => {
        await runs.flushed();
        await instance?.stop();
        await openedBus.close().catch(() => {});
        await Promise.all([sql.end({ timeout: 5 }), writer.end({ timeout: 5 })]);
      })();
      return closed;
    },
  };
}
