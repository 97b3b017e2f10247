/**
 * The `Bearer` auth scheme is matched case-insensitively (RFC 9110 §11.1) by
 * every reader of `Authorization`: the admin guard, the seat routes, the seat
 * socket's handshake, and the worker routes.
 */
import assert from "node:assert/strict";
import { abortable, startServer, until } from "../_helpers.ts";

const API_TOKEN = "api-token-for-bearer-tests-0123456789";
const SCHEMES = ["Bearer", "bearer", "BEARER", "bEaReR"];

Deno.test("admin routes accept the API token under any case of Bearer", async () => {
  await using server = await startServer({ config: { apiToken: API_TOKEN } });
  for (const scheme of SCHEMES) {
    const res = await fetch(`${server.base}/v1/doctor`, {
      headers: { authorization: `${scheme} ${API_TOKEN}` },
    });
    assert.equal(res.status, 200, scheme);
    await res.body?.cancel();
  }
  const wrong = await fetch(`${server.base}/v1/doctor`, {
    headers: { authorization: `Basic ${API_TOKEN}` },
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
});

Deno.test("seat routes and the seat socket accept the seat token under any case of Bearer", async () => {
  await using server = await startServer();
  const { sid, token } = await server.mint();
  for (const scheme of SCHEMES) {
    const res = await fetch(`${server.base}/v1/operators/${sid}`, {
      headers: { authorization: `${scheme} ${token}` },
    });
    assert.equal(res.status, 200, scheme);
    await res.body?.cancel();
  }
  // Deno's WebSocket takes an options object with headers (not in the DOM typing).
  const init = { headers: { authorization: `bearer ${token}` } } as unknown as string[];
  const ws = new WebSocket(`${server.wsBase}/v1/operators/${sid}/ws`, init);
  const opened = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  ws.onopen = () => opened.resolve();
  ws.onerror = () => {};
  ws.onclose = () => {
    opened.reject(new Error("closed before open"));
    closed.resolve();
  };
  await abortable(opened.promise, AbortSignal.timeout(5_000));
  await until(() => server.deps.sessions.get(sid)?.connected === true);
  ws.close();
  await closed.promise;
});

Deno.test("worker routes read a lowercase bearer as the Bearer scheme", async () => {
  await using server = await startServer();
  for (const scheme of ["bearer", "BEARER"]) {
    const res = await fetch(`${server.base}/v1/worker/submit`, {
      method: "POST",
      headers: { authorization: `${scheme} not-a-capability-token` },
      body: "text",
    });
    const body = await res.json();
    // Past the scheme check (400 "Authorization must be 'Bearer <token>'"), refused as a token.
    assert.notEqual(body.error, "Authorization must be 'Bearer <token>'", scheme);
    assert.ok(res.status === 401 || res.status === 400, `${res.status} ${body.error}`);
  }
  const bad = await fetch(`${server.base}/v1/worker/submit`, {
    method: "POST",
    headers: { authorization: "Token x" },
    body: "text",
  });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, "Authorization must be 'Bearer <token>'");
});
