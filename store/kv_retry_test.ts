import assert from "node:assert/strict";
import { isKvLocked, retryKvLocked } from "./kv_retry.ts";

Deno.test("retryKvLocked retries a lock error until the call succeeds", async () => {
  let calls = 0;
  const value = await retryKvLocked(() => {
    calls++;
    if (calls < 3) return Promise.reject(new TypeError("database is locked"));
    return Promise.resolve("done");
  }, { baseDelayMs: 0 });
  assert.equal(value, "done");
  assert.equal(calls, 3);
});

Deno.test("retryKvLocked rethrows other errors at once", async () => {
  let calls = 0;
  await assert.rejects(
    retryKvLocked(() => {
      calls++;
      return Promise.reject(new Error("Value too large"));
    }),
    /Value too large/,
  );
  assert.equal(calls, 1);
});

Deno.test("retryKvLocked gives up after the last attempt", async () => {
  let calls = 0;
  await assert.rejects(
    retryKvLocked(() => {
      calls++;
      return Promise.reject(new TypeError("database is locked"));
    }, { attempts: 4, baseDelayMs: 0 }),
    (err) => isKvLocked(err),
  );
  assert.equal(calls, 4);
});
