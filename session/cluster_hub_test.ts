/**
 * The cluster hub on a real database: the order in which the other instances
 * hear how a run's requests ended.
 *
 * @module
 */
import assert from "node:assert/strict";
import { PG_IGNORE, withMigratedSql } from "../tests/_pg.ts";
import { sampleRun } from "../store/_durable_store_cases.ts";
import { openBus } from "../store/pg_bus.ts";
import { REQUEST_TOPICS } from "../store/pg_requests.ts";
import { createPgRunStore } from "../store/run_store_pg.ts";
import { RUN_ENDED_TOPIC } from "../store/seat_store_pg.ts";
import { createLogger } from "../observe/log.ts";
import { createMetrics } from "../observe/metrics.ts";
import { createClusterHub } from "./cluster_hub.ts";

Deno.test({
  name: "a run's request rows are dropped after its requests' cancels: `timeout` is heard first",
  ignore: PG_IGNORE,
  fn: () =>
    withMigratedSql(async (sql) => {
      // the hub's statements, the cancel held a while (as a busy connection would)
      let held = false;
      const slow = new Proxy(sql, {
        apply(target, self, args) {
          const text = (args[0] as readonly string[]).join("?");
          if (held || !text.includes("cancel_reason = ")) return Reflect.apply(target, self, args);
          held = true;
          return new Promise((resolve) => setTimeout(resolve, 300))
            .then(() => Reflect.apply(target, self, args));
        },
      });
      const bus = await openBus(sql, { instanceId: "i-a" });
      const other = await openBus(sql, { instanceId: "i-b" });
      const heard: string[] = [];
      const runEnded = Promise.withResolvers<void>();
      other.on(REQUEST_TOPICS.ended, (_id, _from, row) => {
        heard.push(`ended ${(row as { cancel_reason?: string } | undefined)?.cancel_reason}`);
      });
      other.on(RUN_ENDED_TOPIC, () => {
        heard.push("run ended");
        runEnded.resolve();
      });
      const runs = createPgRunStore(sql, { instanceId: "i-a" });
      const hub = createClusterHub({
        sql: slow,
        bus,
        instanceId: "i-a",
        runs,
        log: createLogger({ level: "error" }),
        metrics: createMetrics(),
      });
      await hub.start({ get: () => undefined, add() {}, remove() {}, sids: () => [] });
      try {
        await runs.putRun(sampleRun("run-1", 1));
        // a spawn of run-1 for a seat whose socket is elsewhere: its row is written
        const opened = await hub.open({
          req_id: "op-1-spawn-1",
          sid: "op-1",
          kind: "spawn",
          run_id: "run-1",
          task_id: "T-1",
          attempt: 1,
          sent_at: 1,
          frame: {
            type: "spawn",
            req_id: "op-1-spawn-1",
            task_id: "T-1",
            agent: "impl",
            attempt: 1,
            capability_token: "t",
            directive: "d",
          },
        });
        assert.equal(opened.state, "pending");
        await runs.flushed();
        // its TTL passes: the request is cancelled, then the run ends at once
        const cancelled = hub.cancel(opened.row, "timeout");
        await runs.putRun({ ...sampleRun("run-1", 1), status: "failed" });
        hub.forgetRun("run-1");
        assert.equal(await cancelled, true);
        await Promise.race([
          runEnded.promise,
          new Promise((_, reject) => setTimeout(() => reject(new Error("no run_ended")), 5_000)),
        ]);
        assert.deepEqual(heard, ["ended timeout", "run ended"]);
      } finally {
        hub.stop();
        await other.close();
        await bus.close();
      }
    }),
});
