import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";

async function appAt(clock: { now: number }) {
  const deps = await createDeps({ now: () => clock.now });
  return createApp(deps);
}

function attach(app: ReturnType<typeof createApp>, body: unknown) {
  return app.request("/v1/sessions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function detach(app: ReturnType<typeof createApp>, authorization?: string) {
  return app.request("/v1/sessions", {
    method: "DELETE",
    headers: authorization === undefined ? {} : { authorization },
  });
}

Deno.test("every role attaches and detaches its own session once (the 0.1.2 detach bug is fixed)", async () => {
  const app = await appAt({ now: Date.now() });
  for (const role of ["operator", "worker", "observer", "senior", "Observer"]) {
    const res = await attach(app, { agent_id: "a1", role, ttl_secs: 60 });
    assert.equal(res.status, 200, role);
    const body = await res.json();
    assert.equal(body.role, role);
    assert.match(body.session_id, /^[0-9a-f]{32}$/);
    assert.equal((await detach(app, `Bearer ${body.session_id}`)).status, 204, role);
    const again = await detach(app, `Bearer ${body.session_id}`);
    assert.equal(again.status, 404);
    assert.deepEqual(await again.json(), {
      error: `session: ${body.session_id}`,
      code: "session_not_found",
    });
  }
});

Deno.test("an expired session answers 401 on detach, then 404", async () => {
  const clock = { now: Date.now() };
  const app = await appAt(clock);
  const { session_id } = await (await attach(app, { agent_id: "a", role: "operator", ttl_secs: 5 }))
    .json();
  clock.now += 10_000;
  const res = await detach(app, `Bearer ${session_id}`);
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { error: "engine: token expired", code: "token_expired" });
  assert.equal((await detach(app, `Bearer ${session_id}`)).status, 404);
});

Deno.test("bad attach bodies and detach headers get 400, 415 or 422 with {error}", async () => {
  const app = await appAt({ now: Date.now() });
  const cases: Array<[Response | Promise<Response>, number]> = [
    [attach(app, { agent_id: "a", role: "janitor", ttl_secs: 5 }), 400],
    [attach(app, { agent_id: "a", role: "worker", ttl_secs: -1 }), 422],
    [attach(app, { agent_id: "a", role: "worker" }), 422],
    [attach(app, { agent_id: "a", role: "worker", ttl_secs: 10 ** 9 }), 400],
    [
      app.request("/v1/sessions", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "{}",
      }),
      415,
    ],
    [
      app.request("/v1/sessions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      }),
      400,
    ],
    [detach(app, "Basic abc"), 400],
    [detach(app, "Bearer "), 400],
    [detach(app), 401],
  ];
  for (const [pending, status] of cases) {
    const res = await pending;
    assert.equal(res.status, status, await res.clone().text());
    const body = await res.json();
    assert.equal(typeof body.error, "string");
    assert.ok(body.error.length > 0);
  }
});
