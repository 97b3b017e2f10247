/**
 * Instances on one PostgreSQL database form one cluster: they boot together
 * (the schema is created once, under an advisory lock), share blueprints and
 * list each other in `GET /v1/doctor`, and a killed instance shows as dead
 * once its lease passes.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { DoctorReport } from "../../protocol/operability.ts";
import { freshDatabase, PG_IGNORE } from "../_pg.ts";
import { eventually, getJson, startCluster, startInstance } from "./_instances.ts";

const blueprint = (id: string) => ({
  id,
  flow: { kind: "step", ref: "echo", in: "'hi'", out: "$.out" },
  agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
});

Deno.test({
  name: "three instances boot at once on one database and share blueprints and the doctor view",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b", "i-c"]);
    const [a, b, c] = cluster;

    const put = await fetch(`${a.base}/v1/blueprints/shared`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(blueprint("shared")),
    });
    assert.equal(put.status, 201, await put.text());
    const head = await getJson<{ version: string }>(b.base, "/v1/blueprints/shared/head");
    assert.equal(head.status, 200);
    const list = await getJson<{ ids: string[] }>(c.base, "/v1/blueprints");
    assert.deepEqual(list.body.ids, ["main", "shared"]);

    const doctor = await getJson<DoctorReport>(b.base, "/v1/doctor");
    assert.equal(doctor.body.store.kind, "pg");
    assert.equal(doctor.body.blueprint_backend, "postgres");
    assert.ok(!doctor.body.store.path?.includes("password"));
    assert.equal(doctor.body.cluster?.instance_id, "i-b");
    assert.deepEqual(
      doctor.body.cluster?.instances.map((i) => [i.id, i.alive, i.url]),
      [["i-a", true, a.base], ["i-b", true, b.base], ["i-c", true, c.base]],
    );
  },
});

Deno.test({
  name:
    "a SIGKILLed instance shows as dead in the doctor once its lease passes; a clean stop leaves",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await using cluster = await startCluster(url, ["i-a", "i-b", "i-c"]);
    const [a, b, c] = cluster;
    await b.kill("SIGKILL");
    await c.kill("SIGTERM");
    const instances = await eventually(
      async () => {
        const { body } = await getJson<DoctorReport>(a.base, "/v1/doctor");
        const list = body.cluster?.instances ?? [];
        return list.some((i) => i.id === "i-b" && !i.alive) ? list : undefined;
      },
      10_000,
      "i-b listed dead",
    );
    assert.deepEqual(instances.map((i) => [i.id, i.alive]), [["i-a", true], ["i-b", false]]);
  },
});

Deno.test({
  name: "an instance refuses to start with both SWITCHBOARD_DATABASE_URL and SWITCHBOARD_KV",
  ignore: PG_IGNORE,
  async fn() {
    const url = await freshDatabase();
    await assert.rejects(
      startInstance(url, "i-x", { env: { SWITCHBOARD_KV: ":memory:" } }),
      /SWITCHBOARD_DATABASE_URL and SWITCHBOARD_KV are both set/,
    );
  },
});
