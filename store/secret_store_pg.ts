/**
 * The PostgreSQL secret store: the first instance to write the HMAC key wins
 * (`INSERT … ON CONFLICT DO NOTHING`), so every instance of a cluster signs
 * with one key.
 *
 * @module
 */
import type { SecretStore } from "./secret_store.ts";
import type { Sql } from "./pg_sql.ts";

/** Creates a {@link SecretStore} on `sql` (row `hmac_secret` of `sb_meta`). */
export function createPgSecretStore(sql: Sql): SecretStore {
  return {
    async getOrCreateSecret(candidate) {
      await sql`INSERT INTO sb_meta (key, value) VALUES ('hmac_secret', ${candidate})
        ON CONFLICT (key) DO NOTHING`;
      const [row] = await sql`SELECT value FROM sb_meta WHERE key = 'hmac_secret'`;
      return row.value;
    },
  };
}
