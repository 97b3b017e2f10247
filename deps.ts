/**
 * Everything an app holds: registries and tables (plain maps), stores, the
 * engine, config, logger and metrics. `createDeps` fills in defaults so tests
 * override only what they need.
 *
 * @module
 */
import type { DiskBudget } from "./store/disk_budget.ts";
import { type Config, MAX_STREAMS } from "./config.ts";
import { createRegistries } from "./engine/faces.ts";
import { createEngine, type Engine } from "./engine/mod.ts";
import { type CapToken, importSecret } from "./engine/captoken.ts";
import { fromHex, randomHex } from "./engine/crypto.ts";
import { createTokenAuthority, type TokenAuthority } from "./engine/tokens.ts";
import { createFunctionRegistry, type WorkerFn } from "./engine/workers/function.ts";
import { parseWebhooks, type WebhookConfig } from "./engine/workers/webhook.ts";
import { createChildReaper } from "./engine/workers/child_reaper.ts";
import { ensureSeed } from "./engine/blueprint/mod.ts";
import { createLogger, type Logger } from "./observe/log.ts";
import { createMetrics, type Metrics } from "./observe/metrics.ts";
import type { Seat } from "./session/seat.ts";
import {
  forgetRunRequests,
  releaseRunSeats,
  restoreRequests,
  type SeatDeps,
} from "./session/seats.ts";
import type { BlueprintStore } from "./store/blueprint_store.ts";
import { createMemoryBlueprintStore } from "./store/blueprint_store_memory.ts";
import { createMemoryDataStore, type DataStore } from "./store/data_store.ts";
import { createMemoryRunStore, type RunStore } from "./store/run_store.ts";
import { createMemorySeatStore, type SeatStore } from "./store/seat_store.ts";
import { createMemorySecretStore, type SecretStore } from "./store/secret_store.ts";
import type { PgCluster } from "./store/open_pg_stores.ts";
import type { RemoteRuns } from "./routes/_runs.ts";
import { createRunFeed, type RunFeed } from "./routes/_run_feed.ts";
import { createStreamSlots, type StreamSlots } from "./routes/_streams.ts";

/** The stores of one server. */
export interface Stores {
  kind: "memory" | "kv" | "pg";
  path: string | null;
  seats: SeatStore;
  blueprints: BlueprintStore;
  runs: RunStore;
  data: DataStore;
  secrets: SecretStore;
  /** The cluster, when the stores are in PostgreSQL. */
  cluster?: PgCluster;
}

/** What `createApp` needs. */
export interface AppDeps extends SeatDeps, RemoteRuns {
  config: Config;
  stores: Stores;
  engine: Engine;
  /** Runs started and ended, for `GET /v1/runs/feed`. */
  runFeed: RunFeed;
  /** The open event streams (`SWITCHBOARD_MAX_STREAMS`); a shutdown ends them. */
  streams: StreamSlots;
  tokens: TokenAuthority;
  /** The HMAC key of capability tokens. */
  key: CryptoKey;
  /** `rust_fn` functions by `fn_id`. */
  functions: Map<string, WorkerFn>;
  /** Webhook workers by `fn_id`. */
  webhooks: Map<string, WebhookConfig>;
  /** `/v1/sessions` tokens by session id. */
  attached: Map<string, CapToken>;
  log: Logger;
  metrics: Metrics;
  now(): number;
  startedAt: number;
  /**
   * In a cluster: answers a worker route from the instance that owns the worker's
   * run (cluster.ts); undefined when this instance should answer.
   */
  workerProxy?: (req: Request) => Promise<Response | undefined>;
  /** The KV file's byte bound (a KV file only; boot.ts). */
  storage?: DiskBudget;
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
    workerTokenTtlSecs: 1800,
    instanceId: "i-local",
    runLeaseSecs: 10,
    warmupRounds: 0,
    ...overrides,
  };
}

/** In-memory stores. */
export function memoryStores(): Stores {
  return {
    kind: "memory",
    path: null,
    seats: createMemorySeatStore(),
    blueprints: createMemoryBlueprintStore(),
    runs: createMemoryRunStore(),
    data: createMemoryDataStore(),
    secrets: createMemorySecretStore(),
  };
}

/** Options of {@link createDeps}. */
export interface CreateDepsOptions {
  config?: Partial<Config>;
  stores?: Stores;
  log?: Logger;
  metrics?: Metrics;
  now?: () => number;
  /** Extra `rust_fn` functions (beside `identity`). */
  functions?: Iterable<[string, WorkerFn]>;
}

/** Builds deps, with in-memory stores unless told otherwise. */
export async function createDeps(options: CreateDepsOptions = {}): Promise<AppDeps> {
  const config = defaultConfig(options.config);
  const now = options.now ?? Date.now;
  const log = options.log ?? createLogger({ level: config.logLevel });
  const metrics = options.metrics ?? createMetrics();
  const stores = options.stores ?? memoryStores();
  await ensureSeed(stores.blueprints, config.seedBlueprintId);
  const secretHex = config.secretHex ?? await stores.secrets.getOrCreateSecret(randomHex(32));
  const secret = fromHex(secretHex)!;
  const key = await importSecret(secret);
  const tokens = createTokenAuthority({
    key,
    secret,
    now,
    persist: stores.runs,
    records: await stores.runs.listLiveTokens(),
  });
  const registries = createRegistries();
  const sessions = new Map<string, Seat>();
  const functions = createFunctionRegistry(options.functions);
  const webhooks = parseWebhooks(config.webhooksJson, config.webhookDefaults);

  const roles = new Map<string, string>();
  const seats = { ...registries, sessions, roles };
  const runFeed = createRunFeed();
  const engine = createEngine({
    registries,
    functions,
    webhooks,
    tokens,
    store: stores.runs,
    log,
    metrics,
    now,
    publicUrl: config.publicUrl,
    allowSubprocess: config.allowSubprocess,
    // started with the first child: a server running none starts no shell
    childReaper: config.allowSubprocess ? createChildReaper() : undefined,
    workerTokenTtlSecs: config.workerTokenTtlSecs,
    workerTokenMaxUses: config.workerTokenMaxUses ?? null,
    budgets: config.budgets,
    maxStops: config.maxStops,
    onRunEnded: (runId, sids) => {
      // every run that ends here, also one resumed after a restart
      runFeed.tell("run_ended", runId, () => engine.view(runId));
      forgetRunRequests(deps, runId, sids);
      // a run's own seats end with it
      releaseRunSeats(deps, runId).catch((err) =>
        log.error("releasing run seats failed", { run_id: runId, error: String(err) })
      );
    },
    onRequestsRecovered: (requests) => restoreRequests(seats, requests),
    // set by cluster.ts once the cluster's hub runs
    syncSeats: () => deps.syncSeats?.() ?? Promise.resolve(),
  });

  const deps: AppDeps = {
    ...seats,
    sessionEnv: {
      store: stores.seats,
      log,
      metrics,
      publicUrl: config.publicUrl,
      now,
      journal: engine.requests,
    },
    config,
    stores,
    engine,
    runFeed,
    streams: createStreamSlots(config.maxStreams ?? MAX_STREAMS),
    tokens,
    key,
    functions,
    webhooks,
    attached: new Map(),
    log,
    metrics,
    now,
    startedAt: now(),
  };
  return deps;
}
