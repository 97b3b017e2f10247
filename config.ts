/**
 * Server configuration from the environment (SPEC §1).
 *
 * @module
 */
import { type LogLevel, parseLogLevel } from "./observe/log.ts";
import type { RunBudgets } from "./engine/flow/mod.ts";
import type { WebhookDefaults } from "./engine/workers/webhook.ts";
import { SEAT_LIMITS, type SeatLimits } from "./session/seats.ts";
import { DEFAULT_FRAME_RATE, type FrameRateLimit } from "./session/frame_bucket.ts";
import type { BacklogLimit } from "./session/send_backlog.ts";
import { AgentKind } from "./protocol/blueprint.ts";
import { isBlueprintId } from "./store/blueprint_store.ts";

/** The server's configuration. */
export interface Config {
  host: string;
  port: number;
  /** Deno KV file, or `:memory:`. */
  kvPath: string;
  /** `SWITCHBOARD_KV_MAX_MB`: the KV file's bound in MiB of data (default {@link KV_MAX_MB}). */
  kvMaxMb?: number;
  /** `SWITCHBOARD_KV_CHECK_SECS`: how often the KV file's use is read (default 10). */
  kvCheckSecs?: number;
  /** `SWITCHBOARD_MAX_LIVE_RUNS`: runs in progress at once; more are refused 503 (default 100,000). */
  maxLiveRuns?: number;
  /**
   * `SWITCHBOARD_MAX_LIVE_CTX_MB`: MiB of JSON the initial ctxs of the runs in
   * progress may hold together; a start past it is refused 503 (default 1024).
   */
  maxLiveCtxMb?: number;
  /** `SWITCHBOARD_MAX_STREAMS`: event streams (SSE) open at once; more are refused 503 (default 4,096). */
  maxStreams?: number;
  /** Hex HMAC key for capability tokens; undefined = generated (and kept in KV). */
  secretHex?: string;
  publicUrl: string;
  apiToken?: string;
  idleSecs: number;
  logLevel: LogLevel;
  /** Enables the `subprocess` agent kind. */
  allowSubprocess: boolean;
  /** Webhook workers (fn_id → config) as JSON, from `SWITCHBOARD_WEBHOOKS`. */
  webhooksJson?: string;
  /** Lifetime of worker capability tokens (`SWITCHBOARD_WORKER_TOKEN_TTL_SECS`, 1800). */
  workerTokenTtlSecs: number;
  /** Uses allowed per worker token (`SWITCHBOARD_WORKER_TOKEN_MAX_USES`, unlimited). */
  workerTokenMaxUses?: number;
  /** Each run's budgets (`SWITCHBOARD_RUN_MAX_*`); missing ones take the defaults. */
  budgets?: Partial<RunBudgets>;
  /** `SWITCHBOARD_WEBHOOK_MAX_BYTES` and `SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE`. */
  webhookDefaults?: WebhookDefaults;
  /** `SWITCHBOARD_MAX_SEATS`, `SWITCHBOARD_MAX_ROLES_PER_SEAT` and `SWITCHBOARD_MAX_ROLES`. */
  seatLimits?: SeatLimits;
  /** Extra host names allowed in `Host` when no API token is set (`SWITCHBOARD_ALLOWED_HOSTS`). */
  allowedHosts?: string[];
  /** `SWITCHBOARD_RUN_RETENTION_SECS`: ended runs are deleted this long after they end (7 days). */
  runRetentionSecs?: number;
  /** `SWITCHBOARD_RUN_MAX_STOPS`: server stops while a run executes before it is quarantined. */
  maxStops?: number;
  /** `SWITCHBOARD_DATABASE_URL`: keep everything in PostgreSQL, as one instance of a cluster. */
  databaseUrl?: string;
  /** `SWITCHBOARD_INSTANCE_ID`: this instance's id in the cluster (default random). */
  instanceId: string;
  /** `SWITCHBOARD_RUN_LEASE_SECS`: how long a run's owner may go silent before others take it (10). */
  runLeaseSecs: number;
  /**
   * `SWITCHBOARD_CLUSTER_GRACE_MS`: how long a request of a run started here, sent on a
   * socket held here, stays known to this instance alone before its row is written (100).
   */
  clusterGraceMs?: number;
  /** `SWITCHBOARD_WARMUP`: boot warm-up rounds of the hot paths before ready (3000; 0 = off). */
  warmupRounds: number;
  /**
   * `SWITCHBOARD_WS_FRAMES_PER_SEC` and `SWITCHBOARD_WS_FRAME_BURST`: client frames a
   * seat's socket may send (20,000 at once, 5,000/s after); over them it is closed 1008.
   */
  wsFrameRate?: FrameRateLimit;
  /** What an operator socket may leave unread before it is closed 1008 (16 MiB for 10 s; not from the environment). */
  wsSendBacklog?: BacklogLimit;
  /**
   * `SWITCHBOARD_BLUEPRINT_REF_BASE`: the directory `$file` and `$agent_md`
   * references of registered Blueprints read from (unset: no expansion).
   */
  blueprintRefBase?: string;
  /** `SWITCHBOARD_DEFAULT_AGENT_KIND`: the kind of an agent that names none (default `operator`). */
  defaultAgentKind?: AgentKind;
  /** `SWITCHBOARD_STRICT_WIRE_0_1_2=1`: registration refuses Blueprints 0.1.2 cannot run. */
  strictWire?: boolean;
  /** `SWITCHBOARD_SEED_BLUEPRINT_ID`: the Blueprint seeded at boot (default `main`). */
  seedBlueprintId?: string;
  /** The socket address listened on, once it is (`GET /v1/doctor`'s `bind`; IPv6 in brackets). */
  bound?: string;
}

/** The default bound of the KV file's data, in MiB (4 GiB). */
export const KV_MAX_MB = 4096;

/** Default `SWITCHBOARD_MAX_STREAMS`: about 300 MB of idle event streams. */
export const MAX_STREAMS = 4096;

/** Reads environment variables. */
export interface EnvSource {
  get(name: string): string | undefined;
}

function intIn(name: string, raw: string | undefined, fallback: number, min: number, max: number) {
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got ${raw}`);
  }
  return n;
}

/** Reads and checks the configuration. Throws on a bad value. */
export function readConfig(env: EnvSource = Deno.env): Config {
  const host = env.get("HOST")?.trim() || "127.0.0.1";
  const port = intIn("PORT", env.get("PORT"), 7777, 0, 65535);
  const secretHex = env.get("SWITCHBOARD_SECRET")?.trim() || undefined;
  // any whole bytes of hex, as 0.1.2's `--token-secret` (main.ts warns below 16 bytes)
  if (secretHex !== undefined && !/^([0-9a-fA-F]{2})+$/.test(secretHex)) {
    throw new Error("SWITCHBOARD_SECRET must be hex (an even number of hex digits)");
  }
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  const databaseUrl = readDatabaseUrl(env);
  return {
    host,
    port,
    kvPath: env.get("SWITCHBOARD_KV")?.trim() || "./data/switchboard.kv",
    kvMaxMb: intIn("SWITCHBOARD_KV_MAX_MB", env.get("SWITCHBOARD_KV_MAX_MB"), KV_MAX_MB, 1, 1e8),
    maxLiveRuns: intIn(
      "SWITCHBOARD_MAX_LIVE_RUNS",
      env.get("SWITCHBOARD_MAX_LIVE_RUNS"),
      100_000,
      1,
      1e9,
    ),
    maxLiveCtxMb: intIn(
      "SWITCHBOARD_MAX_LIVE_CTX_MB",
      env.get("SWITCHBOARD_MAX_LIVE_CTX_MB"),
      1024,
      1,
      1e7,
    ),
    maxStreams: intIn(
      "SWITCHBOARD_MAX_STREAMS",
      env.get("SWITCHBOARD_MAX_STREAMS"),
      MAX_STREAMS,
      1,
      1e7,
    ),
    kvCheckSecs: intIn(
      "SWITCHBOARD_KV_CHECK_SECS",
      env.get("SWITCHBOARD_KV_CHECK_SECS"),
      10,
      1,
      3600,
    ),
    secretHex,
    publicUrl: (env.get("SWITCHBOARD_PUBLIC_URL")?.trim() || `http://${hostForUrl}:${port}`)
      .replace(/\/+$/, ""),
    apiToken: env.get("SWITCHBOARD_API_TOKEN") || undefined,
    idleSecs: intIn(
      "SWITCHBOARD_SESSION_IDLE_SECS",
      env.get("SWITCHBOARD_SESSION_IDLE_SECS"),
      86400,
      1,
      10 * 365 * 86400,
    ),
    logLevel: parseLogLevel(env.get("LOG_LEVEL")),
    allowSubprocess: env.get("SWITCHBOARD_ALLOW_SUBPROCESS") === "1",
    webhooksJson: env.get("SWITCHBOARD_WEBHOOKS") || undefined,
    workerTokenTtlSecs: intIn(
      "SWITCHBOARD_WORKER_TOKEN_TTL_SECS",
      env.get("SWITCHBOARD_WORKER_TOKEN_TTL_SECS"),
      1800,
      1,
      10 * 365 * 86400,
    ),
    workerTokenMaxUses: env.get("SWITCHBOARD_WORKER_TOKEN_MAX_USES")
      ? intIn(
        "SWITCHBOARD_WORKER_TOKEN_MAX_USES",
        env.get("SWITCHBOARD_WORKER_TOKEN_MAX_USES"),
        0,
        1,
        0xffffffff,
      )
      : undefined,
    budgets: readBudgets(env),
    webhookDefaults: {
      maxResponseBytes: intIn(
        "SWITCHBOARD_WEBHOOK_MAX_BYTES",
        env.get("SWITCHBOARD_WEBHOOK_MAX_BYTES"),
        2 * 1024 * 1024,
        1,
        1024 ** 3,
      ),
      allowPrivate: env.get("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE") === "1",
    },
    runRetentionSecs: intIn(
      "SWITCHBOARD_RUN_RETENTION_SECS",
      env.get("SWITCHBOARD_RUN_RETENTION_SECS"),
      7 * 86_400,
      1,
      100 * 365 * 86_400,
    ),
    warmupRounds: intIn("SWITCHBOARD_WARMUP", env.get("SWITCHBOARD_WARMUP"), 3_000, 0, 100_000),
    wsFrameRate: {
      perSec: intIn(
        "SWITCHBOARD_WS_FRAMES_PER_SEC",
        env.get("SWITCHBOARD_WS_FRAMES_PER_SEC"),
        DEFAULT_FRAME_RATE.perSec,
        1,
        1e9,
      ),
      burst: intIn(
        "SWITCHBOARD_WS_FRAME_BURST",
        env.get("SWITCHBOARD_WS_FRAME_BURST"),
        DEFAULT_FRAME_RATE.burst,
        1,
        1e9,
      ),
    },
    maxStops: intIn("SWITCHBOARD_RUN_MAX_STOPS", env.get("SWITCHBOARD_RUN_MAX_STOPS"), 3, 1, 1000),
    allowedHosts: (env.get("SWITCHBOARD_ALLOWED_HOSTS") ?? "").split(",").map((h) => h.trim())
      .filter((h) => h !== ""),
    seatLimits: {
      maxSeats: intIn(
        "SWITCHBOARD_MAX_SEATS",
        env.get("SWITCHBOARD_MAX_SEATS"),
        SEAT_LIMITS.maxSeats,
        1,
        1e9,
      ),
      maxRolesPerSeat: intIn(
        "SWITCHBOARD_MAX_ROLES_PER_SEAT",
        env.get("SWITCHBOARD_MAX_ROLES_PER_SEAT"),
        SEAT_LIMITS.maxRolesPerSeat,
        0,
        100_000,
      ),
      maxRoles: intIn(
        "SWITCHBOARD_MAX_ROLES",
        env.get("SWITCHBOARD_MAX_ROLES"),
        SEAT_LIMITS.maxRoles,
        1,
        1e9,
      ),
    },
    databaseUrl,
    instanceId: readInstanceId(env),
    runLeaseSecs: intIn(
      "SWITCHBOARD_RUN_LEASE_SECS",
      env.get("SWITCHBOARD_RUN_LEASE_SECS"),
      10,
      1,
      86400,
    ),
    clusterGraceMs: intIn(
      "SWITCHBOARD_CLUSTER_GRACE_MS",
      env.get("SWITCHBOARD_CLUSTER_GRACE_MS"),
      100,
      0,
      60_000,
    ),
    blueprintRefBase: readRefBase(env),
    defaultAgentKind: readAgentKind(env),
    strictWire: env.get("SWITCHBOARD_STRICT_WIRE_0_1_2") === "1",
    seedBlueprintId: readSeedId(env),
  };
}

/** `SWITCHBOARD_SEED_BLUEPRINT_ID`: a valid Blueprint id, or undefined (`main`). */
function readSeedId(env: EnvSource): string | undefined {
  const id = env.get("SWITCHBOARD_SEED_BLUEPRINT_ID")?.trim();
  if (!id) return undefined;
  if (!isBlueprintId(id)) {
    throw new Error(`SWITCHBOARD_SEED_BLUEPRINT_ID is not a valid Blueprint id: ${id}`);
  }
  return id;
}

/** `SWITCHBOARD_BLUEPRINT_REF_BASE`: an existing directory, or undefined. */
function readRefBase(env: EnvSource): string | undefined {
  const dir = env.get("SWITCHBOARD_BLUEPRINT_REF_BASE")?.trim();
  if (!dir) return undefined;
  let isDirectory = false;
  try {
    isDirectory = Deno.statSync(dir).isDirectory;
  } catch {
    // reported below
  }
  if (!isDirectory) throw new Error(`SWITCHBOARD_BLUEPRINT_REF_BASE is not a directory: ${dir}`);
  return dir;
}

/** `SWITCHBOARD_DEFAULT_AGENT_KIND`: an agent kind, or undefined. */
function readAgentKind(env: EnvSource): AgentKind | undefined {
  const raw = env.get("SWITCHBOARD_DEFAULT_AGENT_KIND")?.trim();
  if (!raw) return undefined;
  const parsed = AgentKind.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `SWITCHBOARD_DEFAULT_AGENT_KIND must be one of ${AgentKind.options.join(", ")}, got ${raw}`,
    );
  }
  return parsed.data;
}

/** The `SWITCHBOARD_RUN_MAX_*` budgets that are set. */
function readBudgets(env: EnvSource): Partial<RunBudgets> {
  const out: Partial<RunBudgets> = {};
  const read = (key: keyof RunBudgets, name: string, max: number) => {
    const raw = env.get(name);
    if (raw !== undefined && raw.trim() !== "") out[key] = intIn(name, raw, 0, 1, max);
  };
  read("maxCtxBytes", "SWITCHBOARD_RUN_MAX_CTX_BYTES", 1024 ** 3);
  read("maxValueBytes", "SWITCHBOARD_RUN_MAX_VALUE_BYTES", 1024 ** 3);
  read("maxLoopIterations", "SWITCHBOARD_RUN_MAX_LOOP_ITERATIONS", 1e9);
  read("maxFanout", "SWITCHBOARD_RUN_MAX_FANOUT", 1e6);
  read("maxBranches", "SWITCHBOARD_RUN_MAX_BRANCHES", 1e9);
  read("maxSteps", "SWITCHBOARD_RUN_MAX_STEPS", 1e9);
  read("maxBranchKeys", "SWITCHBOARD_RUN_MAX_BRANCH_KEYS", 1e9);
  read("maxWriteKeys", "SWITCHBOARD_RUN_MAX_WRITE_KEYS", 1e9);
  read("maxHistoryBytes", "SWITCHBOARD_RUN_MAX_HISTORY_BYTES", 1024 ** 4);
  return out;
}

/** `SWITCHBOARD_DATABASE_URL`, checked: a postgres URL, and never beside `SWITCHBOARD_KV`. */
function readDatabaseUrl(env: EnvSource): string | undefined {
  const url = env.get("SWITCHBOARD_DATABASE_URL")?.trim() || undefined;
  if (url === undefined) return undefined;
  if (env.get("SWITCHBOARD_KV")?.trim()) {
    throw new Error(
      "SWITCHBOARD_DATABASE_URL and SWITCHBOARD_KV are both set: choose PostgreSQL or Deno KV",
    );
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error("SWITCHBOARD_DATABASE_URL must be a postgres:// or postgresql:// URL");
  }
  return url;
}

/** `SWITCHBOARD_INSTANCE_ID`, or a random id. */
function readInstanceId(env: EnvSource): string {
  const id = env.get("SWITCHBOARD_INSTANCE_ID")?.trim();
  if (!id) return `i-${crypto.randomUUID().slice(0, 8)}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) {
    throw new Error("SWITCHBOARD_INSTANCE_ID must be 1-64 of A-Z a-z 0-9 . _ - (not first)");
  }
  return id;
}

/** True for loopback host names and addresses. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
}
