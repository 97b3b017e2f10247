import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";

async function appWith(config = {}) {
  const deps = await createDeps({ config });
  return { deps, app: createApp(deps) };
}

function post(app: ReturnType<typeof createApp>, path: string, body: unknown, headers = {}) {
  return app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function mint(app: ReturnType<typeof createApp>, roles: string[] = []) {
  const res = await post(app, "/v1/operators", { roles });
  assert.equal(res.status, 200);
  return await res.json() as { sid: string; token: string; roles: string[] };
}

Deno.test("GET /v1/healthz answers ok as text", async () => {
  const { app } = await appWith();
  const res = await app.request("/v1/healthz");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
  // the 0.1.2 header, byte for byte (reference/http.md §3.1)
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
});

Deno.test("POST /v1/operators mints a sid, a 128-bit+ token and echoes the roles", async () => {
  const { app, deps } = await appWith();
  const seat = await mint(app, ["main-ai", "main-ai", ""]);
  assert.match(
    seat.sid,
    /^op-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.ok(seat.token.length >= 22, "at least 128 bits of a 64-letter alphabet");
  assert.deepEqual(seat.roles, ["main-ai", "main-ai", ""]);
  // registered at mint, under the sid and every alias
  assert.ok(deps.seniorBridges.has(seat.sid));
  assert.ok(deps.spawnHooks.has(seat.sid));
  assert.ok(deps.operators.has(seat.sid));
  assert.ok(deps.operators.has("main-ai"));
  // a role names its seat for every face (SPEC §10: gates accept a sid or a role)
  assert.ok(deps.seniorBridges.has("main-ai"));
  assert.ok(deps.spawnHooks.has("main-ai"));
});

Deno.test("POST /v1/operators with no roles mints a seat with none", async () => {
  const { app } = await appWith();
  const res = await post(app, "/v1/operators", {});
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).roles, []);
});

Deno.test("POST /v1/operators answers 409 when a role is held, listing the conflicts", async () => {
  const { app, deps } = await appWith();
  await mint(app, ["a", "b"]);
  const res = await post(app, "/v1/operators", { roles: ["c", "b", "a", "b"] });
  assert.equal(res.status, 409);
  assert.deepEqual(await res.json(), {
    error: "roles conflict",
    code: "roles_conflict",
    conflicts: ["b", "a", "b"],
  });
  assert.ok(!deps.roles.has("c"), "nothing is reserved on conflict");
});

Deno.test("POST /v1/operators rejects bad bodies with 415, 400, 422 and 413", async (t) => {
  const { app } = await appWith();
  await t.step("no content type is 415", async () => {
    const res = await app.request("/v1/operators", { method: "POST", body: "{}" });
    assert.equal(res.status, 415);
    assert.match((await res.json()).error, /Content-Type: application\/json/);
  });
  await t.step("text/plain is 415", async () => {
    const res = await post(app, "/v1/operators", "{}", { "content-type": "text/plain" });
    assert.equal(res.status, 415);
  });
  await t.step("an empty body is 400", async () => {
    const res = await post(app, "/v1/operators", "");
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /^Failed to parse the request body as JSON/);
  });
  await t.step("broken JSON is 400", async () => {
    assert.equal((await post(app, "/v1/operators", "{roles:")).status, 400);
  });
  await t.step("two JSON values are 400", async () => {
    assert.equal((await post(app, "/v1/operators", "{}{}")).status, 400);
  });
  await t.step("roles: null is 422 with issues", async () => {
    const res = await post(app, "/v1/operators", { roles: null });
    assert.equal(res.status, 422);
    const body = await res.json();
    assert.deepEqual(body.issues[0].path, ["roles"]);
    assert.equal(body.issues[0].pointer, "/roles");
  });
  await t.step("roles of numbers is 422", async () => {
    assert.equal((await post(app, "/v1/operators", { roles: [1] })).status, 422);
  });
  await t.step("a JSON array is 422", async () => {
    assert.equal((await post(app, "/v1/operators", [])).status, 422);
  });
  await t.step("application/vnd.x+json is accepted", async () => {
    const res = await post(app, "/v1/operators", {}, {
      "content-type": "application/vnd.x+json; charset=utf-8",
    });
    assert.equal(res.status, 200);
  });
  await t.step("a body over 2 MiB is 413", async () => {
    const big = JSON.stringify({ roles: ["x".repeat(2 * 1024 * 1024 + 10)] });
    const res = await post(app, "/v1/operators", big);
    assert.equal(res.status, 413);
    assert.ok((await res.json()).error);
  });
});

Deno.test("GET /v1/operators/:sid checks bearer, then sid, then token", async (t) => {
  const { app } = await appWith();
  const seat = await mint(app, ["r"]);
  const get = (sid: string, auth?: string) =>
    app.request(`/v1/operators/${sid}`, { headers: auth ? { authorization: auth } : {} });

  await t.step("no bearer on an unknown sid is 401, not 404", async () => {
    const res = await get("op-nope");
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), {
      error: "missing or empty Bearer token",
      code: "missing_credentials",
    });
  });
  await t.step(
    "a lowercase scheme is accepted (RFC 9110: schemes are case-insensitive)",
    async () => {
      const res = await get(seat.sid, `bearer ${seat.token}`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    },
  );
  await t.step("unknown sid is 404", async () => {
    const res = await get("op-nope", "Bearer x");
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: "unknown sid", code: "seat_not_found" });
  });
  await t.step("wrong token is 401 token mismatch", async () => {
    const res = await get(seat.sid, "Bearer wrong");
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: "token mismatch", code: "token_mismatch" });
  });
  await t.step("the right token reads the seat", async () => {
    const res = await get(seat.sid, `Bearer ${seat.token}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      sid: seat.sid,
      roles: ["r"],
      connected: false,
      pending: 0,
    });
  });
});

Deno.test("GET /v1/operators lists seats sorted by sid with times", async () => {
  const { app } = await appWith();
  const a = await mint(app, ["x"]);
  const b = await mint(app);
  const res = await app.request("/v1/operators");
  assert.equal(res.status, 200);
  const { operators } = await res.json();
  assert.deepEqual(operators.map((o: { sid: string }) => o.sid), [a.sid, b.sid].sort());
  for (const o of operators) {
    assert.equal(o.connected, false);
    assert.equal(o.pending, 0);
    assert.ok(!Number.isNaN(Date.parse(o.created_at)));
    assert.ok(!Number.isNaN(Date.parse(o.last_seen_at)));
    assert.equal(o.token, undefined, "tokens are never listed");
  }
});

Deno.test("GET /v1/operators/:sid/pending lists nothing for a fresh seat", async () => {
  const { app } = await appWith();
  const seat = await mint(app);
  const res = await app.request(`/v1/operators/${seat.sid}/pending`, {
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { pending: [] });
  const bad = await app.request(`/v1/operators/${seat.sid}/pending`);
  assert.equal(bad.status, 401);
});

Deno.test("DELETE /v1/operators/:sid unregisters the seat and releases its roles", async () => {
  const { app, deps } = await appWith();
  const seat = await mint(app, ["solo"]);
  const del = (auth?: string) =>
    app.request(`/v1/operators/${seat.sid}`, {
      method: "DELETE",
      headers: auth ? { authorization: auth } : {},
    });
  assert.equal((await del()).status, 401);
  assert.equal((await del("Bearer nope")).status, 401);
  const res = await del(`Bearer ${seat.token}`);
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  assert.ok(!deps.operators.has(seat.sid));
  assert.ok(!deps.operators.has("solo"));
  assert.ok(!deps.seniorBridges.has(seat.sid));
  assert.equal((await del(`Bearer ${seat.token}`)).status, 404);
  // the role can be minted again at once
  assert.deepEqual((await mint(app, ["solo"])).roles, ["solo"]);
});

Deno.test("unknown paths are 404 and wrong methods 405 with Allow, both as JSON", async () => {
  const { app } = await appWith();
  const nope = await app.request("/v1/nope");
  assert.equal(nope.status, 404);
  assert.ok((await nope.json()).error);
  const put = await app.request("/v1/operators/op-x", { method: "PUT" });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get("allow"), "DELETE, GET, HEAD");
  assert.ok((await put.json()).error);
  const ws = await app.request("/v1/operators/op-x/ws", { method: "POST" });
  assert.equal(ws.status, 405);
  assert.equal(ws.headers.get("allow"), "GET, HEAD");
  const trailing = await app.request("/v1/healthz/");
  assert.equal(trailing.status, 404, "paths match exactly");
});

Deno.test("a static path beats a parameter: /v1/data/emit allows only POST (0.1.2)", async () => {
  for (const apiToken of [undefined, "admin-secret"]) {
    const { app } = await appWith({ apiToken });
    for (const method of ["GET", "HEAD", "DELETE"]) {
      const res = await app.request("/v1/data/emit", { method });
      assert.equal(res.status, 405, `${method} /v1/data/emit (api token ${apiToken})`);
      assert.equal(res.headers.get("allow"), "POST");
      if (method !== "HEAD") assert.equal((await res.json()).code, "method_not_allowed");
    }
    // any other key is read by GET (and is not found here)
    const other = await app.request("/v1/data/emitted", {
      headers: apiToken ? { authorization: `Bearer ${apiToken}` } : {},
    });
    assert.equal(other.status, 404);
  }
});

Deno.test("SWITCHBOARD_API_TOKEN guards mint and list but not the seat's own routes", async () => {
  const { app } = await appWith({ apiToken: "admin-secret" });
  assert.equal((await post(app, "/v1/operators", {})).status, 401);
  assert.equal((await post(app, "/v1/operators", {}, { authorization: "Bearer no" })).status, 401);
  const res = await post(app, "/v1/operators", {}, { authorization: "Bearer admin-secret" });
  assert.equal(res.status, 200);
  const seat = await res.json();
  assert.equal((await app.request("/v1/operators")).status, 401);
  const list = await app.request("/v1/operators", {
    headers: { authorization: "Bearer admin-secret" },
  });
  assert.equal(list.status, 200);
  const own = await app.request(`/v1/operators/${seat.sid}`, {
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(own.status, 200);
});
