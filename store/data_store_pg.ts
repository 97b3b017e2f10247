/**
 * The PostgreSQL data store: `sb_data` (id → record) and `sb_data_latest`
 * (producer → id of its newest record), written in one transaction.
 *
 * @module
 */
import type { DataStore, StoredOutput } from "./data_store.ts";
import type { Sql } from "./pg_sql.ts";

/** Creates a {@link DataStore} on `sql`. The caller owns `sql` and closes it. */
export function createPgDataStore(sql: Sql): DataStore {
  const getOutput = async (id: string): Promise<StoredOutput | undefined> => {
    const [row] = await sql`SELECT record FROM sb_data WHERE id = ${id}`;
    return row?.record;
  };
  return {
    async putOutput(record) {
      await sql.begin(async (tx) => {
        await tx`INSERT INTO sb_data (id, producer, record, created_at)
          VALUES (${record.id}, ${record.producer_agent}, ${tx.json(record)}, ${record.created_at})
          ON CONFLICT (id) DO UPDATE SET producer = excluded.producer, record = excluded.record,
            created_at = excluded.created_at`;
        await tx`INSERT INTO sb_data_latest (producer, id) VALUES (${record.producer_agent}, ${record.id})
          ON CONFLICT (producer) DO UPDATE SET id = excluded.id`;
      });
    },
    getOutput,
    async pruneBefore(before, limit) {
      const rows = await sql.begin(async (tx) => {
        const gone = await tx`DELETE FROM sb_data WHERE id IN (
            SELECT id FROM sb_data WHERE created_at < ${before} ORDER BY created_at LIMIT ${limit})
          RETURNING id`;
        const ids = gone.map((r) => r.id as string);
        if (ids.length > 0) await tx`DELETE FROM sb_data_latest WHERE id = ANY(${ids})`;
        return ids;
      });
      return rows.length;
    },
    async latestByProducer(name) {
      const [row] = await sql`SELECT d.record FROM sb_data_latest l JOIN sb_data d ON d.id = l.id
        WHERE l.producer = ${name}`;
      return row?.record;
    },
  };
}
