/**
 * Idle seat expiry against the store (SPEC §1 `SWITCHBOARD_SESSION_IDLE_SECS`):
 * seat activity is saved, and a seat that went idle while the server was down
 * expires at the next boot, from memory and from the KV file.
 */
import assert from "node:assert/strict";
import { openDeps, startBackground } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import { mintSeat } from "../../session/seats.ts";
import { tempKv } from "./_child.ts";

Deno.test("a seat idle past the limit while the server was down expires at boot, in the store too", async () => {
  await using kvFile = await tempKv();
  const config = defaultConfig({ kvPath: kvFile.path, idleSecs: 3600 });
  let clock = 1_000_000;
  const now = () => clock;
  let busySid: string;
  let idleSid: string;
  {
    const deps = await openDeps(config, { now });
    idleSid = (await mintSeat(deps, ["idle"])).sid;
    busySid = (await mintSeat(deps, ["busy"])).sid;
    const background = startBackground(deps);
    await background.sweep();
    clock += 3000_000; // 50 min later the busy seat does something
    deps.sessions.get(busySid)!.lastSeenAt = clock;
    await background.stop(); // saves seat activity
    await deps.close();
  }
  clock += 1200_000; // the server was down 20 min: idle is 70 min idle, busy 20 min
  const deps = await openDeps(config, { now });
  try {
    assert.deepEqual([...deps.sessions.keys()].sort(), [busySid, idleSid].sort());
    const background = startBackground(deps); // sweeps once at once
    await background.stop();
    assert.deepEqual([...deps.sessions.keys()], [busySid]);
    assert.deepEqual((await deps.stores.seats.listSeats()).map((s) => s.sid), [busySid]);
    assert.equal(deps.roles.has("idle"), false, "the idle seat's role is free again");
  } finally {
    await deps.close();
  }
});

Deno.test("openDeps keeps the capability-token secret of a KV file, and a fresh :memory: gets a new one", async () => {
  await using kvFile = await tempKv();
  const config = defaultConfig({ kvPath: kvFile.path });
  const secretOf = async (c: typeof config) => {
    const deps = await openDeps(c);
    try {
      return await deps.stores.secrets.getOrCreateSecret("00");
    } finally {
      await deps.close();
    }
  };
  const first = await secretOf(config);
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.equal(await secretOf(config), first);
  const memory = defaultConfig({ kvPath: ":memory:" });
  assert.notEqual(await secretOf(memory), await secretOf(memory));
});
