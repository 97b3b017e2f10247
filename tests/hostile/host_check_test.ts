/**
 * Finding 8: without an API token, a request whose Host is not this server's
 * (DNS rebinding from a web page) gets 403 JSON; with the token, the token rules.
 *
 * @module
 */
import assert from "node:assert/strict";
import { rawHttp, startServer } from "../_helpers.ts";

const get = (port: number, path: string, host: string, extra = "") =>
  rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
const mint = (port: number, host: string) =>
  rawHttp(
    port,
    `POST /v1/operators HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: 2\r\nConnection: close\r\n\r\n{}`,
  );

Deno.test("admin routes refuse a foreign Host with 403 JSON when no API token is set", async () => {
  await using server = await startServer({
    config: { allowedHosts: ["switchboard.lan"], publicUrl: "http://board.example:9000" },
  });
  for (const host of ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "10.0.0.5"]) {
    const res = await get(server.port, "/v1/operators", host);
    assert.equal(res.status, 403, host);
    assert.match(JSON.parse(res.body).error, /host not allowed/);
    assert.equal((await mint(server.port, host)).status, 403, host);
  }
  for (
    const host of [
      `127.0.0.1:${server.port}`,
      "localhost",
      "app.localhost:1",
      "[::1]:7777",
      "switchboard.lan:8080",
      "board.example",
    ]
  ) {
    assert.equal((await get(server.port, "/v1/operators", host)).status, 200, host);
  }
});

Deno.test("with an API token set, the token guards the routes whatever the Host", async () => {
  await using server = await startServer({ config: { apiToken: "s3cret" } });
  const res = await get(
    server.port,
    "/v1/operators",
    "evil.example",
    "Authorization: Bearer s3cret\r\n",
  );
  assert.equal(res.status, 200);
  assert.equal((await get(server.port, "/v1/operators", "evil.example")).status, 401);
});
