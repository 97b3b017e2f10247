import { dataRetentionCase } from "./_durable_store_cases.ts";
import assert from "node:assert/strict";
import { freshDatabase, PG_IGNORE } from "../tests/_pg.ts";
import { createPgDataStore } from "./data_store_pg.ts";
import { openBus } from "./pg_bus.ts";
import { listInstances, startInstance } from "./pg_instances.ts";
import { migrate, SCHEMA_VERSION } from "./pg_schema.ts";
import { openSql, type Sql } from "./pg_sql.ts";
import { createPgSecretStore } from "./secret_store_pg.ts";

async function withPools<T>(n: number, fn: (pools: Sql[]) => Promise<T>): Promise<T> {
  const url = await freshDatabase();
  const pools = Array.from({ length: n }, () => openSql(url));
  try {
    return await fn(pools);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}

/** Resolves with the first value `wait` is called with, or rejects after `ms`. */
function waiter<T>(ms = 5_000) {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
  return { promise: promise.finally(() => clearTimeout(timer)), resolve };
}

Deno.test({
  name: "migrate creates the schema once when several instances boot at the same time",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(4, async (pools) => {
      const applied = await Promise.all(pools.map(migrate));
      assert.deepEqual(applied.sort(), [0, 0, 0, SCHEMA_VERSION]);
      assert.equal(await migrate(pools[0]), 0);
      const [row] = await pools[0]`SELECT value FROM sb_meta WHERE key = 'schema_version'`;
      assert.equal(Number(row.value), SCHEMA_VERSION);
    });
  },
});

Deno.test({
  name: "migrate refuses a database migrated by a newer server",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(1, async ([sql]) => {
      await migrate(sql);
      await sql`UPDATE sb_meta SET value = ${
        String(SCHEMA_VERSION + 1)
      } WHERE key = 'schema_version'`;
      await assert.rejects(migrate(sql), /newer than this server/);
    });
  },
});

Deno.test({
  name: "PostgreSQL data and secret stores: newest record wins per producer, first secret wins",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(2, async (pools) => {
      await migrate(pools[0]);
      const [a, b] = pools.map((p) => createPgDataStore(p));
      const out = (id: string, producer: string, value: string) => ({
        id,
        task_id: "T-1",
        attempt: 1,
        producer_agent: producer,
        event: { type: "final" as const, content: { kind: "inline" as const, value }, ok: true },
        parent_refs: [],
        created_at: 1,
      });
      assert.equal(await a.latestByProducer("p"), undefined);
      await a.putOutput(out("o1", "p", "one"));
      await b.putOutput(out("o2", "p", "é".repeat(100_000)));
      await a.putOutput(out("o3", "q", "three"));
      assert.equal((await b.latestByProducer("p"))?.id, "o2");
      assert.deepEqual((await a.getOutput("o2"))?.event, out("o2", "p", "é".repeat(100_000)).event);
      assert.equal(await a.getOutput("o9"), undefined);
      assert.equal(await b.pruneBefore(50, 10), 3, "the records above, all written at 1");
      await dataRetentionCase(b);

      const secrets = pools.map((p) => createPgSecretStore(p));
      const got = await Promise.all(
        ["aa", "bb", "cc", "dd"].map((c, i) => secrets[i % 2].getOrCreateSecret(c)),
      );
      assert.equal(new Set(got).size, 1);
      assert.equal(await secrets[1].getOrCreateSecret("ee"), got[0]);
    });
  },
});

Deno.test({
  name: "instances register, beat, show dead once the lease passes, and leave on stop",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(2, async ([a, b]) => {
      await migrate(a);
      const one = await startInstance(a, {
        id: "i-one",
        url: "http://one",
        leaseSecs: 1,
        load: () => ({ runs: 3, seats: 2 }),
      });
      const two = await startInstance(b, { id: "i-two", url: "http://two", leaseSecs: 1 });
      try {
        await one.beat();
        let list = await listInstances(a, 1);
        assert.deepEqual(list.map((i) => [i.id, i.alive, i.runs, i.seats]), [
          ["i-one", true, 3, 2],
          ["i-two", true, 0, 0],
        ]);
        // a process that stops beating (killed) is listed dead after the lease
        await two.stop();
        await b`INSERT INTO sb_instances (id, url, started_at, heartbeat_at)
          VALUES ('i-dead', 'http://dead', now(), now() - interval '5 seconds')`;
        list = await one.list();
        assert.deepEqual(list.map((i) => [i.id, i.alive]), [["i-dead", false], ["i-one", true]]);
        assert.ok(list[0].heartbeat_age_secs >= 5);
      } finally {
        await one.stop();
      }
      assert.deepEqual((await listInstances(a, 1)).map((i) => i.id), ["i-dead"]);
    });
  },
});

Deno.test({
  name: "bus carries topic and id between instances, and heals after its listener reconnects",
  ignore: PG_IGNORE,
  async fn() {
    await withPools(2, async ([a, b]) => {
      const busA = await openBus(a, { instanceId: "i-a" });
      const busB = await openBus(b, { instanceId: "i-b" });
      try {
        const first = waiter<[string, string]>();
        const stop = busB.on("req", (id, from) => first.resolve([id, from]));
        await busA.publish("other", "x");
        await busA.publish("req", "op-1-ask-1");
        assert.deepEqual(await first.promise, ["op-1-ask-1", "i-a"]);
        stop();

        // kill B's listening connection: the bus reconnects and calls its healers
        const healed = waiter<void>(15_000);
        busB.onHeal(() => healed.resolve());
        const killed = await a`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query ILIKE 'listen%' AND pid <> pg_backend_pid()`;
        assert.ok(killed.length >= 1);
        await healed.promise;
        assert.ok(busB.reconnects >= 1);

        const after = waiter<string>();
        busB.on("req", (id) => after.resolve(id));
        await busA.publish("req", "op-1-ask-2");
        assert.equal(await after.promise, "op-1-ask-2");
      } finally {
        await busA.close();
        await busB.close();
      }
    });
  },
});
