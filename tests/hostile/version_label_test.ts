/**
 * A Blueprint's `version_label` had no length bound: a valid semver with a 900 KB
 * pre-release was accepted, and every entry of `GET /v1/blueprints/:id/history`
 * (1,024 of them) carries its label, so a KV file's series could make one history
 * answer ~900 Mi characters, past the longest string V8 makes (by arithmetic; not
 * run). Now it is at most 256 characters (node-semver's bound), else 422.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";

Deno.test("a version_label over 256 characters is refused with 422 JSON", async () => {
  await using server = await startServer();
  const register = async (label: string) => {
    const res = await fetch(`${server.base}/v1/blueprints/lb`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: "lb",
        agents: [],
        metadata: { version_label: label },
        flow: { kind: "assign", at: "$.y", value: "1" },
      }),
    });
    return { status: res.status, body: await res.json() };
  };
  assert.equal((await register(`1.0.0-${"a".repeat(250)}`)).status, 201); // 256
  const long = await register(`1.0.1-${"a".repeat(900_000)}`);
  assert.equal(long.status, 422);
  assert.equal(long.body.code, "invalid_blueprint");
  assert.equal(long.body.issues[0].pointer, "/metadata/version_label");
});
