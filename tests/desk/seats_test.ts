/**
 * Seat lifecycle and scopes over real HTTP and WebSockets: release on close, the
 * API token reading and deleting any seat, idle expiry, scoped role exclusivity
 * and the 400 for a gate that names no seat.
 */
import assert from "node:assert/strict";
import { openSocket, startServer, type TestServer, until } from "../_helpers.ts";
import { fnBlueprint, get, post, runEnded, startRun } from "../engine/_loop.ts";
import { sweepEveryMs } from "../../boot.ts";
import { sweepIdleSeats } from "../../session/seats.ts";

async function mint(server: TestServer, body: unknown, headers: Record<string, string> = {}) {
  const res = await post(server, "/v1/operators", body, headers);
  return res as { status: number; body: Record<string, unknown> & { sid: string; token: string } };
}

Deno.test("a release_on_close seat frees its roles once its socket closes and the grace passes", async () => {
  await using server = await startServer();
  const first = await mint(server, { roles: ["desk-a"], release_on_close: true, grace_secs: 0 });
  assert.equal(first.status, 200);
  assert.equal((await mint(server, { roles: ["desk-a"] })).status, 409);
  const ws = await openSocket(`${server.wsBase}/v1/operators/${first.body.sid}/ws`, {
    token: first.body.token,
  });
  const info = await get(server, `/v1/operators/${first.body.sid}`, {
    authorization: `Bearer ${first.body.token}`,
  });
  assert.equal(info.body?.release_on_close, true);
  await ws.close();
  await until(() => !server.deps.sessions.has(first.body.sid));
  // The tour can run again: the role is free.
  const again = await mint(server, { roles: ["desk-a"], release_on_close: true, grace_secs: 0 });
  assert.equal(again.status, 200);
  const seats = (await get(server, "/v1/operators")).body!.operators as Array<{ sid: string }>;
  assert.deepEqual(seats.map((s) => s.sid), [again.body.sid]);
  const gone = await get(server, `/v1/operators/${first.body.sid}`, {
    authorization: `Bearer ${first.body.token}`,
  });
  assert.equal(gone.status, 404);
});

Deno.test("a release_on_close seat is kept while a new socket replaces the closed one or requests are pending", async () => {
  await using server = await startServer();
  const minted = await mint(server, { roles: ["desk-b"], release_on_close: true, grace_secs: 1 });
  const url = `${server.wsBase}/v1/operators/${minted.body.sid}/ws`;
  const first = await openSocket(url, { token: minted.body.token });
  await first.close();
  const second = await openSocket(url, { token: minted.body.token });
  // A hook_before now pends on the seat; closing the socket must not release it.
  const runId = await startRun(server, {
    blueprint: {
      kind: "inline",
      value: fnBlueprint("identity", { spawner_hints: { layers: ["main_ai"] } }),
    },
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: "desk-b" },
  });
  const hb = await second.next();
  assert.equal(hb.type, "hook_before");
  await second.close();
  // two graces pass: the seat stays because a request waits for it
  await new Promise((r) => setTimeout(r, 2_200));
  assert.ok(server.deps.sessions.has(minted.body.sid));
  const third = await openSocket(url, { token: minted.body.token });
  assert.equal((await third.next()).type, "hook_before"); // replayed
  await fetch(`${server.base}/v1/runs/${runId}`, { method: "DELETE" }).then((r) =>
    r.body?.cancel()
  );
  await runEnded(server, runId);
  await third.close();
  await until(() => !server.deps.sessions.has(minted.body.sid));
});

Deno.test("the API token reads and deletes any seat; other bearers stay refused", async () => {
  await using server = await startServer({ config: { apiToken: "admin-secret" } });
  const admin = { authorization: "Bearer admin-secret" };
  const minted = await mint(server, { roles: ["desk-c"] }, admin);
  assert.equal(minted.status, 200);
  const path = `/v1/operators/${minted.body.sid}`;
  const read = await get(server, path, admin);
  assert.equal(read.status, 200);
  assert.deepEqual(read.body?.roles, ["desk-c"]);
  assert.equal((await get(server, path, { authorization: "Bearer nope" })).status, 401);
  assert.equal((await get(server, `${path}/pending`, admin)).status, 200);
  const del = await fetch(`${server.base}${path}`, { method: "DELETE", headers: admin });
  assert.equal(del.status, 204);
  await del.body?.cancel();
  assert.equal((await get(server, path, admin)).status, 404);
});

Deno.test("idle expiry sweeps every min(300, IDLE_SECS/10) s and fails requests as a DELETE does, naming the expiry", async () => {
  assert.equal(sweepEveryMs(86_400), 300_000);
  assert.equal(sweepEveryMs(600), 60_000);
  assert.equal(sweepEveryMs(5), 1_000);
  let now = Date.now();
  await using server = await startServer({ now: () => now });
  const minted = await server.mint(["desk-d"]);
  const runId = await startRun(server, {
    blueprint: {
      kind: "inline",
      value: fnBlueprint("identity", { spawner_hints: { layers: ["main_ai"] } }),
    },
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: minted.sid },
  });
  await until(() => server.deps.sessions.get(minted.sid)!.pendingCount === 1);
  now += 3_600_000;
  assert.deepEqual(await sweepIdleSeats(server.deps, 60_000), [minted.sid]);
  const run = await runEnded(server, runId);
  assert.equal(run.status, "failed");
  // SPEC §3: idle expiry does what DELETE does (`operator session deleted`)
  assert.match(run.error!, /operator session deleted \(idle expiry\)/);
});

Deno.test("scoped seats hold roles only within their scope", async () => {
  await using server = await startServer();
  assert.equal((await mint(server, { roles: ["desk-e"] })).status, 200);
  const inRun = await mint(server, { roles: ["desk-e"], scope: { run_id: "run-aaaa" } });
  assert.equal(inRun.status, 200);
  assert.deepEqual(inRun.body.scope, { run_id: "run-aaaa" });
  const clash = await mint(server, { roles: ["desk-e"], scope: { run_id: "run-aaaa" } });
  assert.equal(clash.status, 409);
  assert.deepEqual(clash.body.conflicts, ["desk-e"]);
  assert.equal(
    (await mint(server, { roles: ["desk-e"], scope: { run_id: "run-bbbb" } })).status,
    200,
  );
  assert.equal(
    (await mint(server, { roles: ["desk-e"], scope: { blueprint_id: "bp" } })).status,
    200,
  );
  assert.equal(
    (await mint(server, { roles: ["desk-e"], scope: { blueprint_id: "bp" } })).status,
    409,
  );
  assert.equal((await mint(server, { roles: ["x"], scope: { run_id: "" } })).status, 422);
  // the scoped role is not an unscoped name
  assert.equal(
    server.deps.operators.get("desk-e"),
    server.deps.sessions.get(
      ((await get(server, "/v1/operators")).body!.operators as Array<
        { sid: string; scope?: unknown }
      >)
        .find((s) => s.scope === undefined)!.sid,
    ),
  );
});

Deno.test("POST /v1/runs answers 400 naming a spawn_hook_id or senior_bridge_id that no seat holds", async () => {
  await using server = await startServer();
  await server.mint(["desk-f"]);
  const body = (operator: Record<string, unknown>) => ({
    blueprint: { kind: "id", id: "main" },
    init_ctx: {},
    operator,
  });
  for (const field of ["spawn_hook_id", "senior_bridge_id"]) {
    const res = await post(server, "/v1/runs", body({ [field]: "revewer" }));
    assert.equal(res.status, 400);
    assert.match(res.body!.error as string, new RegExp(`^${field}: .*'revewer'`));
    assert.equal(res.body!.code, "gate_unresolved");
    const sync = await post(server, "/v1/tasks", body({ [field]: "revewer" }));
    assert.equal(sync.status, 400);
  }
  // a role resolves like a sid
  const ok = await post(
    server,
    "/v1/tasks",
    body({ senior_bridge_id: "desk-f", spawn_hook_id: "desk-f" }),
  );
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  // a role the run brings along in `seats` resolves too
  const own = await post(server, "/v1/runs", {
    ...body({ spawn_hook_id: "own-reviewer" }),
    seats: [{ role: "own-reviewer" }],
  });
  assert.equal(own.status, 202, JSON.stringify(own.body));
  await runEnded(server, own.body!.run_id as string);
});
