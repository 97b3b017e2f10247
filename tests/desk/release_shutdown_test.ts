/**
 * A release_on_close seat is not freed by a server shutdown: the drain closes
 * its socket, and the next boot starts its grace again.
 */
import assert from "node:assert/strict";
import { openSocket } from "../_helpers.ts";
import { call, spawnServer, tempKv } from "../durable/_child.ts";

Deno.test("SIGTERM does not release a release_on_close seat; it survives the restart", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const minted = await call(first, "POST", "/v1/operators", {
    roles: ["desk-keeper"],
    release_on_close: true,
    grace_secs: 0,
  });
  assert.equal(minted.status, 200);
  const { sid, token } = minted.body as { sid: string; token: string };
  const ws = await openSocket(`${first.wsBase}/v1/operators/${sid}/ws`, { token });
  assert.equal((await first.kill("SIGTERM")).code, 0);
  assert.equal((await ws.closed).code, 1001);

  await using second = await spawnServer(kvFile.path);
  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  const info = await call(second, "GET", `/v1/operators/${sid}`, undefined, {
    authorization: `Bearer ${token}`,
  });
  assert.equal(info.status, 200);
  assert.equal(info.body!.release_on_close, true);
  await ws2.close();
});
