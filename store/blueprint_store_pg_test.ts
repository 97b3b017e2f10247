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

Deno.test({
  name:
    "concurrent head reads share queries, each caller gets its own copy, and a read sees the writes before it",
  ignore: PG_IGNORE,
  async fn() {
    await withMigratedSql(async (sql) => {
      let queries = 0;
      const counted = new Proxy(sql, {
        apply(target, self, args) {
          queries++;
          return Reflect.apply(target, self, args);
        },
      });
      const store = createPgBlueprintStore(counted);
      const v1 = await put(store, sampleBlueprint("a", "one"));
      await store.readHead("a");
      queries = 0;
      const reads = await Promise.all(Array.from({ length: 20 }, () => store.readHead("a")));
      assert.ok(queries <= 2, `${queries} queries for 20 concurrent reads`);
      assert.ok(reads.every((r) => r.version === v1.version));
      reads[0].blueprint.agents.length = 0; // a caller's copy is its own
      assert.notEqual(reads[1].blueprint.agents.length, 0);
      // a read that starts after a write returns (here, while one is in flight) sees it
      const inFlight = store.readHead("a");
      const v2 = await put(store, sampleBlueprint("a", "two"));
      const after = await store.readHead("a");
      assert.equal(after.version, v2.version);
      assert.notEqual(v2.version, v1.version);
      await inFlight;
    });
  },
});
