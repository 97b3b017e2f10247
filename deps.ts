/**
 * Everything an app holds: registries and tables (plain maps), stores, config,
 * logger and metrics. `createDeps` fills in defaults so tests override only what
 * they need.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { createRegistries } from "./engine/faces.ts";
import { createLogger, type Logger } from "./observe/log.ts";
import { createMetrics, type Metrics } from "./observe/metrics.ts";
import type { OperatorSession } from "./session/operator_session.ts";
import type { SeatDeps } from "./session/seats.ts";
import { createMemorySeatStore, type SeatStore } from "./store/seat_store.ts";

/** The stores of one server. */
export interface Stores {
  kind: "memory" | "kv";
  path: string | null;
  seats: SeatStore;
}

/** What `createApp` needs. */
export interface AppDeps extends SeatDeps {
  config: Config;
  stores: Stores;
  log: Logger;
  metrics: Metrics;
  now(): number;
  startedAt: number;
}

/** A config for tests and embedding: loopback, in memory, quiet. */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  return {
    host: "127.0.0.1",
    port: 0,
    kvPath: ":memory:",
    publicUrl: "http://127.0.0.1:7777",
    idleSecs: 86400,
    logLevel: "error",
    allowSubprocess: false,
    ...overrides,
  };
}

/** Options of {@link createDeps}. */
export interface CreateDepsOptions {
  config?: Partial<Config>;
  stores?: Stores;
  log?: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/** Builds deps with in-memory stores unless told otherwise. */
export function createDeps(options: CreateDepsOptions = {}): AppDeps {
  const config = defaultConfig(options.config);
  const now = options.now ?? Date.now;
  const log = options.log ?? createLogger({ level: config.logLevel });
  const metrics = options.metrics ?? createMetrics();
  const stores = options.stores ??
    { kind: "memory" as const, path: null, seats: createMemorySeatStore() };
  return {
    ...createRegistries(),
    sessions: new Map<string, OperatorSession>(),
    roles: new Map<string, string>(),
    sessionEnv: { store: stores.seats, log, metrics, publicUrl: config.publicUrl, now },
    config,
    stores,
    log,
    metrics,
    now,
    startedAt: now(),
  };
}
