import assert from "node:assert/strict";
import { openSocket, rawHttp, startServer, until, upgradeRequest } from "../_helpers.ts";

Deno.test("operator socket refuses a plain GET with a valid bearer with 400 before auth", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const res = await fetch(`${server.base}/v1/operators/${seat.sid}/ws`, {
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /upgrade/);
});

Deno.test("operator socket handshake checks come before the bearer, each a 400", async (t) => {
  await using server = await startServer();
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ["no Connection upgrade", { Connection: "keep-alive" }, /Connection/],
    ["Upgrade not websocket", { Upgrade: "h2c" }, /Upgrade/],
    ["version not 13", { "Sec-WebSocket-Version": "8" }, /Sec-WebSocket-Version/],
    ["no key", { "Sec-WebSocket-Key": "" }, /Sec-WebSocket-Key/],
  ];
  for (const [name, headers, error] of cases) {
    await t.step(name, async () => {
      const res = await rawHttp(server.port, upgradeRequest("/v1/operators/op-nope/ws", headers));
      assert.equal(res.status, 400);
      assert.match(JSON.parse(res.body).error, error);
    });
  }
});

Deno.test("operator socket auth answers 401, 404, 401 in the 0.1.2 order", async (t) => {
  await using server = await startServer();
  const seat = await server.mint();
  await t.step("missing bearer on an unknown sid is 401", async () => {
    const res = await rawHttp(server.port, upgradeRequest("/v1/operators/op-nope/ws"));
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(res.body), {
      error: "missing or empty Bearer token",
      code: "missing_credentials",
    });
  });
  await t.step("a non-Bearer scheme is 401", async () => {
    const res = await rawHttp(
      server.port,
      upgradeRequest(`/v1/operators/${seat.sid}/ws`, { Authorization: `Basic ${seat.token}` }),
    );
    assert.equal(res.status, 401);
  });
  await t.step("unknown sid is 404", async () => {
    const res = await rawHttp(
      server.port,
      upgradeRequest("/v1/operators/op-nope/ws", { Authorization: "Bearer x" }),
    );
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.body), { error: "unknown sid", code: "seat_not_found" });
  });
  await t.step("wrong token is 401", async () => {
    const res = await rawHttp(
      server.port,
      upgradeRequest(`/v1/operators/${seat.sid}/ws`, { Authorization: "Bearer wrong" }),
    );
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(res.body), { error: "token mismatch", code: "token_mismatch" });
  });
  await t.step("a wrong token offered as subprotocol is 401", async () => {
    const res = await rawHttp(
      server.port,
      upgradeRequest(`/v1/operators/${seat.sid}/ws`, { "Sec-WebSocket-Protocol": "bearer, nope" }),
    );
    assert.equal(res.status, 401);
  });
  await t.step("the right token upgrades with 101", async () => {
    const res = await rawHttp(
      server.port,
      upgradeRequest(`/v1/operators/${seat.sid}/ws`, { Authorization: `Bearer ${seat.token}` }),
    ).catch(() => ({ status: 101 }));
    assert.equal(res.status, 101);
  });
});

Deno.test("a browser authenticates with the bearer subprotocol and gets `bearer` back", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
    viaProtocol: true,
  });
  assert.equal(ws.ws.protocol, "bearer");
  await until(() => server.deps.sessions.get(seat.sid)!.connected);
});

Deno.test("the bearer subprotocols work in either order: `bearer, <token>` and `<token>, bearer`", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  for (const offered of [`bearer, ${seat.token}`, `${seat.token}, bearer`]) {
    const res = await rawHttp(
      server.port,
      upgradeRequest(`/v1/operators/${seat.sid}/ws`, { "Sec-WebSocket-Protocol": offered }),
    );
    assert.equal(res.status, 101, offered);
    assert.match(res.head, /^sec-websocket-protocol: bearer$/im);
  }
  const three = await rawHttp(
    server.port,
    upgradeRequest(`/v1/operators/${seat.sid}/ws`, {
      "Sec-WebSocket-Protocol": `chat, ${seat.token}, bearer`,
    }),
  );
  assert.equal(three.status, 401); // with more than two, the token follows `bearer`
});

Deno.test("a client offering the bearer subprotocols gets `bearer` back even when it also sends the header", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const res = await rawHttp(
    server.port,
    upgradeRequest(`/v1/operators/${seat.sid}/ws`, {
      Authorization: `Bearer ${seat.token}`,
      "Sec-WebSocket-Protocol": `bearer, ${seat.token}`,
    }),
  );
  assert.equal(res.status, 101);
  // a browser fails a handshake whose offered subprotocols get no answer (RFC 6455 §4.1)
  assert.match(res.head, /^sec-websocket-protocol: bearer$/im);
  const plain = await rawHttp(
    server.port,
    upgradeRequest(`/v1/operators/${seat.sid}/ws`, { Authorization: `Bearer ${seat.token}` }),
  );
  assert.equal(plain.status, 101);
  assert.doesNotMatch(plain.head, /sec-websocket-protocol/i);
});

Deno.test("GET /v1/operators/:sid reports connected only while a socket is live", async () => {
  await using server = await startServer();
  const seat = await server.mint();
  const info = async () =>
    (await (await fetch(`${server.base}/v1/operators/${seat.sid}`, {
      headers: { authorization: `Bearer ${seat.token}` },
    })).json()).connected;
  assert.equal(await info(), false);
  const ws = await openSocket(`${server.wsBase}/v1/operators/${seat.sid}/ws`, {
    token: seat.token,
  });
  await until(() => server.deps.sessions.get(seat.sid)!.connected);
  assert.equal(await info(), true);
  await ws.close();
  await until(() => !server.deps.sessions.get(seat.sid)!.connected);
  assert.equal(await info(), false);
});

Deno.test("a bearer that is not visible ASCII counts as missing on the seat's routes and socket: 401 before the sid", async (t) => {
  await using server = await startServer();
  const seat = await server.mint();
  const missing = { error: "missing or empty Bearer token", code: "missing_credentials" };
  const plain = (method: string, path: string, auth: string) =>
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth}\r\n` +
    "Content-Length: 0\r\n\r\n";
  for (const sid of ["op-nope", seat.sid]) {
    await t.step(
      `GET, DELETE and the socket of ${sid === seat.sid ? "a seat" : "an unknown sid"}`,
      async () => {
        // reference/http.md §2.3 parser O: a non-ASCII value collapses into the missing bearer
        for (
          const request of [
            plain("GET", `/v1/operators/${sid}`, "Bearer é-token"),
            plain("GET", `/v1/operators/${sid}/pending`, "Bearer é-token"),
            plain("DELETE", `/v1/operators/${sid}`, "Bearer é-token"),
            upgradeRequest(`/v1/operators/${sid}/ws`, { Authorization: "Bearer é-token" }),
          ]
        ) {
          const res = await rawHttp(server.port, request);
          assert.equal(res.status, 401, `${request.split("\r\n")[0]}: ${res.body}`);
          assert.deepEqual(JSON.parse(res.body), missing);
        }
      },
    );
  }
  const info = await fetch(`${server.base}/v1/operators/${seat.sid}`, {
    headers: { authorization: `Bearer ${seat.token}` },
  });
  assert.equal(info.status, 200, "the seat is still there");
  await info.body?.cancel();
});
