import assert from "node:assert/strict";
import { isSwitchboardError } from "../protocol/errors.ts";
import { acquireLease, LEASE_TTL_MS } from "./kv_lease.ts";

Deno.test("acquireLease refuses a lease held by a live process and takes a stale one", async () => {
  using kv = await Deno.openKv(":memory:");
  let clock = 1_000_000;
  const now = () => clock;
  const alive = new Set([111]);
  const isAlive = (pid: number) => alive.has(pid);
  const first = await acquireLease(kv, { pid: 111, now, isAlive });
  await assert.rejects(acquireLease(kv, { pid: 222, now, isAlive }), (err) => {
    assert.ok(isSwitchboardError(err));
    assert.match(err.message, /in use by another Switchboard process \(pid 111\)/);
    return true;
  });
  alive.delete(111); // SIGKILLed
  const second = await acquireLease(kv, { pid: 222, now, isAlive });
  await first.release(); // no longer its lease: leaves it alone
  assert.equal((await kv.get<{ pid: number }>(["instance", "lease"])).value?.pid, 222);

  alive.add(222);
  clock += LEASE_TTL_MS + 1; // not renewed in time
  const third = await acquireLease(kv, { pid: 333, now, isAlive: () => undefined });
  await third.release();
  await second.release();
  assert.equal((await kv.get(["instance", "lease"])).value, null);
  const same = await acquireLease(kv, { pid: 444, now, isAlive });
  const restarted = await acquireLease(kv, { pid: 444, now, isAlive }); // same pid: a restart
  await same.release();
  await restarted.release();
});
