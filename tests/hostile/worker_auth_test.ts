/**
 * Finding 6 and part of 11: worker handles cannot be guessed, share their
 * token's expiry and use count, never name another task, failed lookups are
 * throttled per address, and `/v1/worker/result` checks the token before it
 * looks anything up.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { SpawnFrame } from "../../protocol/frames.ts";
import { encodeToken } from "../../engine/captoken.ts";
import { startServer, type TestServer } from "../_helpers.ts";
import { get, nextOf, operatorAgentBlueprint, post, seat, startRun } from "../engine/_loop.ts";

async function twoSpawns(server: TestServer): Promise<[SpawnFrame, SpawnFrame]> {
  const op = await seat(server, ["main-ai"]);
  const spawns: SpawnFrame[] = [];
  for (let i = 0; i < 2; i++) {
    await startRun(server, {
      blueprint: { kind: "inline", value: operatorAgentBlueprint() },
      init_ctx: {},
    });
    spawns.push(await nextOf(op.ws, "spawn"));
  }
  return [spawns[0], spawns[1]];
}

const bearer = (b: string) => ({ authorization: `Bearer ${b}` });

Deno.test("worker handles carry 128 bits and never name another task", async () => {
  await using server = await startServer();
  const [a, b] = await twoSpawns(server);
  assert.match(a.worker_handle!, /^wh-[0-9a-f]{32}$/);
  const wrong = await get(
    server,
    `/v1/worker/prompt?task_id=${b.task_id}`,
    bearer(a.worker_handle!),
  );
  assert.equal(wrong.status, 403);
  assert.doesNotMatch(JSON.stringify(wrong.body), new RegExp(a.task_id));
  const viaToken = await post(
    server,
    "/v1/worker/result",
    { task_id: b.task_id, value: 1 },
    bearer(a.capability_token),
  );
  assert.equal(viaToken.status, 403);
  assert.doesNotMatch(JSON.stringify(viaToken.body), new RegExp(a.task_id));
  const submit = await fetch(`${server.base}/v1/worker/submit`, {
    method: "POST",
    headers: bearer(a.worker_handle!),
    body: "mine",
  });
  assert.equal(submit.status, 204, "a handle still submits for its own task");
});

Deno.test("a worker handle shares its token's use count and expiry, and then answers 401", async () => {
  let clock = Date.now();
  await using server = await startServer({
    now: () => clock,
    config: { workerTokenMaxUses: 2, workerTokenTtlSecs: 60 },
  });
  const [a, b] = await twoSpawns(server);
  const prompt = (s: SpawnFrame) =>
    get(server, `/v1/worker/prompt?task_id=${s.task_id}`, bearer(s.worker_handle!));
  assert.equal((await prompt(a)).status, 200);
  assert.equal((await prompt(a)).status, 200);
  const used = await prompt(a);
  assert.equal(used.status, 401);
  assert.match(String(used.body!.error), /worker handle uses exhausted/);
  clock += 61_000;
  const expired = await prompt(b);
  assert.equal(expired.status, 401);
  assert.match(String(expired.body!.error), /worker handle expired/);
});

Deno.test("a worker handle's failures carry the same codes as its token's (SPEC §10)", async () => {
  let clock = Date.now();
  await using server = await startServer({
    now: () => clock,
    config: { workerTokenMaxUses: 2, workerTokenTtlSecs: 60 },
  });
  const [a, b] = await twoSpawns(server);
  const prompt = (s: SpawnFrame, handle = s.worker_handle!, taskId = s.task_id) =>
    get(server, `/v1/worker/prompt?task_id=${taskId}`, bearer(handle));
  const codeOf = async (res: ReturnType<typeof prompt>) => (await res).body!.code;
  assert.equal(await codeOf(prompt(a, `wh-${"0".repeat(32)}`)), "token_unknown");
  assert.equal(await codeOf(prompt(a, a.worker_handle!, b.task_id)), "token_task_mismatch");
  assert.equal((await prompt(a)).status, 200); // the mismatch above spent one use
  assert.equal(await codeOf(prompt(a)), "token_exhausted");
  clock += 61_000;
  assert.equal(await codeOf(prompt(b)), "token_expired");
});

Deno.test("20 failed lookups in a minute get 429 JSON with Retry-After, over real sockets", async () => {
  let clock = Date.now();
  await using server = await startServer({ now: () => clock });
  const [a] = await twoSpawns(server);
  const guess = () =>
    get(
      server,
      `/v1/worker/prompt?task_id=${a.task_id}`,
      bearer(`wh-${crypto.randomUUID().slice(0, 8)}`),
    );
  for (let i = 0; i < 20; i++) assert.equal((await guess()).status, 401);
  const res = await fetch(`${server.base}/v1/worker/prompt?task_id=${a.task_id}`, {
    headers: bearer(a.worker_handle!),
  });
  assert.equal(res.status, 429);
  assert.ok(Number(res.headers.get("retry-after")) >= 1);
  assert.match((await res.json()).error, /too many failed credentials/);
  const tokens = await post(
    server,
    "/v1/worker/result",
    { task_id: a.task_id, value: 1 },
    bearer("x.y"),
  );
  assert.equal(tokens.status, 429, "token routes share the count");
  clock += 61_000;
  const again = await get(
    server,
    `/v1/worker/prompt?task_id=${a.task_id}`,
    bearer(a.worker_handle!),
  );
  assert.equal(again.status, 200, "the window ends");
});

Deno.test("POST /v1/worker/result checks the token before it looks the task up", async () => {
  await using server = await startServer();
  const [a] = await twoSpawns(server);
  const unknownTask = "T-" + "f".repeat(16);
  const token = server.deps.tokens.decode(a.capability_token);
  const flipped = token.sig_hex.slice(0, -1) + (token.sig_hex.endsWith("0") ? "1" : "0");
  const forged = encodeToken({ ...token, sig_hex: flipped });
  for (const [token, status] of [[forged, 401], ["not-a-token", 400]] as const) {
    const res = await post(
      server,
      "/v1/worker/result",
      { task_id: unknownTask, value: 1 },
      bearer(token),
    );
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.doesNotMatch(String(res.body!.error), /task not found/);
  }
  // a valid token for another (unknown) task is refused as a mismatch, not a lookup
  const other = await post(
    server,
    "/v1/worker/result",
    { task_id: unknownTask, value: 1 },
    bearer(a.capability_token),
  );
  assert.equal(other.status, 403);
});
