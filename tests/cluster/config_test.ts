import assert from "node:assert/strict";
import { readConfig } from "../../config.ts";

const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });

Deno.test("readConfig reads the cluster variables with their defaults", () => {
  const plain = readConfig(env({}));
  assert.equal(plain.databaseUrl, undefined);
  assert.equal(plain.runLeaseSecs, 10);
  assert.equal(plain.clusterGraceMs, 100);
  assert.match(plain.instanceId, /^i-[0-9a-f]{8}$/);
  assert.notEqual(readConfig(env({})).instanceId, plain.instanceId);
  const c = readConfig(env({
    SWITCHBOARD_DATABASE_URL: "postgres://u:p@db:5432/sb",
    SWITCHBOARD_INSTANCE_ID: "web-1",
    SWITCHBOARD_RUN_LEASE_SECS: "1",
    SWITCHBOARD_CLUSTER_GRACE_MS: "0",
    SWITCHBOARD_KV: " ",
  }));
  assert.equal(c.databaseUrl, "postgres://u:p@db:5432/sb");
  assert.equal(c.instanceId, "web-1");
  assert.equal(c.runLeaseSecs, 1);
  assert.equal(c.clusterGraceMs, 0);
});

Deno.test("readConfig refuses both stores, a non-postgres URL, a bad lease, instance id or grace", () => {
  const bad: [Record<string, string>, RegExp][] = [
    [
      { SWITCHBOARD_DATABASE_URL: "postgres://db/sb", SWITCHBOARD_KV: "./data/x.kv" },
      /both set/,
    ],
    [{ SWITCHBOARD_DATABASE_URL: "mysql://db/sb" }, /postgres:\/\//],
    [{ SWITCHBOARD_RUN_LEASE_SECS: "0" }, /SWITCHBOARD_RUN_LEASE_SECS/],
    [{ SWITCHBOARD_RUN_LEASE_SECS: "1.5" }, /SWITCHBOARD_RUN_LEASE_SECS/],
    [{ SWITCHBOARD_INSTANCE_ID: "a b" }, /SWITCHBOARD_INSTANCE_ID/],
    [{ SWITCHBOARD_CLUSTER_GRACE_MS: "-1" }, /SWITCHBOARD_CLUSTER_GRACE_MS/],
  ];
  for (const [vars, message] of bad) assert.throws(() => readConfig(env(vars)), message);
});
