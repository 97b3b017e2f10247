/**
 * The server's tables in PostgreSQL, created or migrated at boot. Each
 * migration runs once, in order, inside one transaction that holds an advisory
 * lock, so N instances may boot on one database at the same time: the first
 * migrates and the others find the work done.
 *
 * @module
 */
import type { Sql } from "./pg_sql.ts";

/** The advisory lock key of migrations (any fixed 64-bit number). */
const MIGRATION_LOCK = 0x5377_6974_6368n; // "Switch"

/** Migrations by number; append only, never edit one that has shipped. */
export const MIGRATIONS: readonly string[][] = [
  // 1: blueprints, data records, the HMAC secret, the cluster's instances
  [
    `CREATE TABLE sb_bp_series (
      id text PRIMARY KEY,
      seq integer NOT NULL,
      head text NOT NULL,
      archived boolean NOT NULL)`,
    `CREATE TABLE sb_bp_commits (
      id text NOT NULL,
      seq integer NOT NULL,
      entry json NOT NULL,
      PRIMARY KEY (id, seq))`,
    `CREATE TABLE sb_bp_versions (
      id text NOT NULL,
      version text NOT NULL,
      body json NOT NULL,
      PRIMARY KEY (id, version))`,
    `CREATE TABLE sb_data (
      id text PRIMARY KEY,
      producer text NOT NULL,
      record json NOT NULL)`,
    `CREATE TABLE sb_data_latest (
      producer text PRIMARY KEY,
      id text NOT NULL)`,
    `CREATE TABLE sb_instances (
      id text PRIMARY KEY,
      url text NOT NULL,
      started_at timestamptz NOT NULL,
      heartbeat_at timestamptz NOT NULL,
      runs integer NOT NULL DEFAULT 0,
      seats integer NOT NULL DEFAULT 0)`,
  ],
  // 2: runs under an owner's lease and epoch, their records, seats, roles,
  // operator requests and tokens
  [
    `CREATE TABLE sb_runs (
      run_id text PRIMARY KEY,
      status text NOT NULL,
      created_at bigint NOT NULL,
      owner text NOT NULL,
      epoch bigint NOT NULL,
      record json NOT NULL)`,
    `CREATE INDEX sb_runs_created ON sb_runs (created_at DESC, run_id DESC)`,
    `CREATE INDEX sb_runs_running ON sb_runs (owner) WHERE status = 'running'`,
    `CREATE TABLE sb_run_records (
      run_id text NOT NULL,
      kind text NOT NULL,
      key text NOT NULL,
      n bigint NOT NULL DEFAULT 0,
      body json NOT NULL,
      PRIMARY KEY (run_id, kind, key))`,
    `CREATE INDEX sb_run_records_n ON sb_run_records (run_id, kind, n)`,
    `CREATE INDEX sb_run_records_key ON sb_run_records (kind, key)`,
    `CREATE TABLE sb_seats (
      sid text PRIMARY KEY,
      token_hash text NOT NULL,
      roles json NOT NULL,
      created_at bigint NOT NULL,
      last_seen_at bigint NOT NULL,
      socket_instance text,
      socket_epoch bigint NOT NULL DEFAULT 0,
      scope json,
      release_after_secs integer)`,
    `CREATE TABLE sb_roles (
      role text PRIMARY KEY,
      sid text NOT NULL REFERENCES sb_seats (sid) ON DELETE CASCADE)`,
    `CREATE TABLE sb_requests (
      req_id text PRIMARY KEY,
      seq bigserial,
      sid text NOT NULL,
      run_id text,
      dedupe text UNIQUE,
      kind text NOT NULL,
      task_id text NOT NULL,
      attempt integer NOT NULL,
      frame json NOT NULL,
      sent_at bigint NOT NULL,
      state text NOT NULL,
      reply json,
      settled_by text,
      cancel_reason text)`,
    `CREATE INDEX sb_requests_sid ON sb_requests (sid, seq)`,
    `CREATE INDEX sb_requests_run ON sb_requests (run_id)`,
    `CREATE TABLE sb_tokens (
      nonce text PRIMARY KEY,
      handle text UNIQUE,
      run_id text,
      record json NOT NULL)`,
    `CREATE INDEX sb_tokens_run ON sb_tokens (run_id)`,
  ],
  // 3: a cancel asked while the run's owner was dead, kept for the instance taking it over
  [`ALTER TABLE sb_runs ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false`],
  // 4: the steps, journal entries and events of a run that started and ended in one
  // batch, kept in its row ({kind, key, n, body} items) instead of one row each
  [`ALTER TABLE sb_runs ADD COLUMN bundle json`],
  // 5: data records by age, for retention (the records before it get theirs from the record)
  [
    `ALTER TABLE sb_data ADD COLUMN created_at bigint NOT NULL DEFAULT 0`,
    `UPDATE sb_data SET created_at = COALESCE((record->>'created_at')::bigint, 0)`,
    `CREATE INDEX sb_data_created ON sb_data (created_at)`,
  ],
  // 6: what the desk shows of a request wherever its row is read: the role it went to, its
  // deadline, and the client the answering socket declared (`?client=`, the audit)
  [
    `ALTER TABLE sb_requests ADD COLUMN role text, ADD COLUMN deadline_at bigint,
      ADD COLUMN settled_client text`,
  ],
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database's schema up to {@link SCHEMA_VERSION}; returns the
 * migrations applied. Throws when the database was migrated by a newer server.
 */
export async function migrate(sql: Sql): Promise<number> {
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS sb_meta (key text PRIMARY KEY, value text NOT NULL)`;
    const [row] = await tx`SELECT value FROM sb_meta WHERE key = 'schema_version'`;
    const current = row ? Number(row.value) : 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `the database's schema is version ${current}, newer than this server's ${SCHEMA_VERSION}`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) {
      for (const statement of MIGRATIONS[v]) await tx.unsafe(statement);
    }
    await tx`INSERT INTO sb_meta (key, value) VALUES ('schema_version', ${String(SCHEMA_VERSION)})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    return SCHEMA_VERSION - current;
  });
}
