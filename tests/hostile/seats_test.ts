/**
 * Finding 7 and parts of 11 and 12: a role can never stand in for another seat's
 * sid, a mint with 150,000 roles is refused cleanly, and seats and the roles of
 * all seats together are capped.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readConfig } from "../../config.ts";
import { startServer } from "../_helpers.ts";
import { nextOf, operatorAgentBlueprint, seat, startRun } from "../engine/_loop.ts";

async function mint(base: string, roles: string[]) {
  const res = await fetch(`${base}/v1/operators`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ roles }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

Deno.test("a role equal to another seat's sid, or starting with op-, is refused; the victim keeps its spawns (finding 7)", async () => {
  await using server = await startServer();
  const victim = await seat(server);
  const hijack = await mint(server.base, [victim.sid]);
  assert.equal(hijack.status, 422, JSON.stringify(hijack.body));
  assert.match(hijack.body.error, /may not start with "op-"/);
  assert.equal((await mint(server.base, ["op-not-yet-a-sid"])).status, 422);
  assert.equal(server.deps.operators.get(victim.sid), server.deps.sessions.get(victim.sid));

  // a seat with ordinary roles, minted and deleted, leaves the victim alone
  const other = await mint(server.base, ["reviewer"]);
  assert.equal(other.status, 200);
  const del = await fetch(`${server.base}/v1/operators/${other.body.sid}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${other.body.token}` },
  });
  assert.equal(del.status, 204);
  const ref = operatorAgentBlueprint({
    operators: [{ name: victim.sid }],
    agents: [{ name: "impl", kind: "operator", spec: { operator_ref: victim.sid } }],
  });
  await startRun(server, { blueprint: { kind: "inline", value: ref }, init_ctx: {} });
  const spawn = await nextOf(victim.ws, "spawn");
  assert.equal(spawn.agent, "impl");
});

Deno.test("a mint with 150,000 roles answers 422 JSON and leaves no seat behind (finding 11)", async () => {
  await using server = await startServer();
  const before = server.deps.sessions.size;
  const roles = Array.from({ length: 150_000 }, (_, i) => `r${i}`);
  const res = await mint(server.base, roles);
  assert.equal(res.status, 422);
  assert.match(res.body.error, /at most 64 roles/);
  assert.equal(server.deps.sessions.size, before);
  assert.equal(server.deps.roles.size, 0);
  const long = await mint(server.base, ["x".repeat(300)]);
  assert.equal(long.status, 422);
});

Deno.test("seats are capped by SWITCHBOARD_MAX_SEATS with 429 JSON (finding 12)", async () => {
  await using server = await startServer({ config: { seatLimits: { maxSeats: 3 } } });
  for (let i = 0; i < 3; i++) assert.equal((await mint(server.base, [])).status, 200);
  const over = await mint(server.base, []);
  assert.equal(over.status, 429);
  assert.match(over.body.error, /maximum of 3 seats/);
  assert.ok(Number(over.headers.get("retry-after")) > 0);
  assert.equal(server.deps.sessions.size, 3);
});

Deno.test("the roles of all seats together are capped by SWITCHBOARD_MAX_ROLES with 429 JSON, and a deleted seat frees its roles", async () => {
  // 100,000 seats of 64 roles of 256 characters held about 5 GB
  await using server = await startServer({ config: { seatLimits: { maxRoles: 5 } } });
  const first = await mint(server.base, ["a", "b", "c"]);
  assert.equal(first.status, 200);
  const over = await mint(server.base, ["d", "e", "f"]);
  assert.equal(over.status, 429);
  assert.equal(over.body.code, "too_many_requests");
  assert.match(over.body.error, /SWITCHBOARD_MAX_ROLES/);
  assert.ok(Number(over.headers.get("retry-after")) > 0);
  assert.equal((await mint(server.base, ["d", "e"])).status, 200, "up to the bound");
  assert.equal(server.deps.roles.size, 5);
  const gone = await fetch(`${server.base}/v1/operators/${first.body.sid}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${first.body.token}` },
  });
  await gone.body?.cancel();
  assert.equal(gone.status, 204);
  assert.deepEqual([...server.deps.roles.keys()].sort(), ["d", "e"]);
  assert.equal((await mint(server.base, ["a", "b", "c"])).status, 200);
});

Deno.test("SWITCHBOARD_MAX_ROLES defaults to 524,288", () => {
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  assert.equal(readConfig(env({})).seatLimits?.maxRoles, 524_288);
  assert.equal(readConfig(env({ SWITCHBOARD_MAX_ROLES: "9" })).seatLimits?.maxRoles, 9);
  assert.throws(() => readConfig(env({ SWITCHBOARD_MAX_ROLES: "0" })), /MAX_ROLES/);
});
