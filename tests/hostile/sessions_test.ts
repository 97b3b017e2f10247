/**
 * Finding 12: `/v1/sessions` attach sessions expire and are capped, so they no
 * longer accumulate without bound.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MAX_ATTACHED_SESSIONS } from "../../routes/sessions.ts";
import { startServer } from "../_helpers.ts";

Deno.test("attached sessions expire, are dropped when the table fills, and the table is capped with 429", async () => {
  let clock = Date.now();
  await using server = await startServer({ now: () => clock });
  const attach = async (ttl: number) => {
    const res = await fetch(`${server.base}/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ agent_id: "a", role: "observer", ttl_secs: ttl }),
    });
    return { status: res.status, body: await res.json() };
  };
  const first = await attach(60);
  assert.equal(first.status, 200);
  // fill the table with copies of that (real, signed) token that expire in 60 s
  const token = server.deps.attached.get(first.body.session_id)!;
  for (let i = server.deps.attached.size; i < MAX_ATTACHED_SESSIONS; i++) {
    server.deps.attached.set(`filler-${i}`, token);
  }
  const full = await attach(60);
  assert.equal(full.status, 429);
  assert.match(full.body.error, /sessions are attached/);
  clock += 61_000; // every one of them has expired
  const after = await attach(60);
  assert.equal(after.status, 200);
  assert.equal(server.deps.attached.size, 1);
  // an expired session cannot be detached, and its token record is gone
  const detach = await fetch(`${server.base}/v1/sessions`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${first.body.session_id}` },
  });
  assert.equal(detach.status, 404);
  await detach.body?.cancel();
  assert.equal(server.deps.tokens.record(first.body.session_id), undefined);
});
