/**
 * The PostgreSQL connection pool of one server (`SWITCHBOARD_DATABASE_URL`),
 * through the `postgres` driver (porsager): tagged-template queries with bound
 * parameters, transactions, and `LISTEN/NOTIFY` on a connection of its own.
 *
 * @module
 */
import postgres from "postgres";

/** A connection pool (also a transaction handle inside `sql.begin`). */
export type Sql = postgres.Sql;

/** A transaction handle, as `sql.begin` passes it. */
export type TxSql = postgres.TransactionSql;

/** Options of {@link openSql}. */
export interface OpenSqlOptions {
  /** Most connections in the pool. Default 10. */
  max?: number;
  /** Shown in `pg_stat_activity`. Default `switchboard`. */
  applicationName?: string;
  /**
   * The server ends a session left idle inside a transaction this long, so a
   * paused instance never holds row locks (a run's fence) past its lease.
   * Default 10 s.
   */
  idleInTransactionMs?: number;
  /**
   * Plans each prepared statement once (`plan_cache_mode=force_generic_plan`),
   * for a pool that runs a few large statements whose plans do not depend on
   * their parameters: PostgreSQL would plan them again at every execution.
   */
  genericPlans?: boolean;
}

/** Opens a pool on `url`; nothing connects until the first query. */
export function openSql(url: string, options: OpenSqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? "switchboard",
      idle_in_transaction_session_timeout: options.idleInTransactionMs ?? 10_000,
      ...(options.genericPlans ? { plan_cache_mode: "force_generic_plan" } : {}),
    },
    // ids and counters are bigints; the stores convert them with Number()
    idle_timeout: 30,
  });
}

/** A stored epoch-ms column (int8, which the driver returns as text) as a number. */
export function ms(value: unknown): number {
  return Number(value);
}
