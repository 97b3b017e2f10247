import assert from "node:assert/strict";
import { freshDatabase, PG_IGNORE, withMigratedSql } from "../tests/_pg.ts";
import { put, runBlueprintStoreCases, sampleBlueprint } from "./_blueprint_store_cases.ts";
import { createPgBlueprintStore } from "./blueprint_store_pg.ts";
import { migrate } from "./pg_schema.ts";
import { openSql } from "./pg_sql.ts";

Deno.test({
  name: "PostgreSQL Blueprint store passes the shared store cases",
  ignore: PG_IGNORE,
  async fn(t) {
    // one database; each case starts from empty tables
    await withMigratedSql(async (sql) => {
      await runBlueprintStoreCases(t, {
        async open(options) {
          await sql`TRUNCATE sb_bp_series, sb_bp_commits, sb_bp_versions`;
          return createPgBlueprintStore(sql, options);
        },
        close: () => {},
      });
    });
  },
});

Deno.test({
  name: "two pools on one database serialize their writes to one id",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    const pools = [openSql(url), openSql(url)];
    try {
      await Promise.all(pools.map(migrate));
      const stores = pools.map((sql) => createPgBlueprintStore(sql));
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => put(stores[i % 2], sampleBlueprint("a", `w${i}`))),
      );
      assert.ok(results.every((r) => r.written));
      const history = await stores[0].history("a");
      assert.equal(history.length, 16);
      for (let i = 0; i < history.length - 1; i++) {
        assert.deepEqual(history[i].parents, [history[i + 1].version]);
      }
      assert.equal((await stores[1].readHead("a")).version, history[0].version);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  },
});
