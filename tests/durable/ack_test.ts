/**
 * Acknowledgements wait for durability, the run does not (SPEC §10): a `pong`
 * after a reply and a worker's `204` are sent only once what they confirm is
 * committed, so a SIGKILL right after one loses nothing. The server is a real
 * child process on a KV file.
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { openSocket, type TestSocket } from "../_helpers.ts";
import { call, spawnServer, tempKv } from "./_child.ts";

async function nextOf<T extends ServerFrame["type"]>(
  ws: TestSocket,
  type: T,
  seen: ServerFrame[] = [],
) {
  while (true) {
    const frame = await ws.next({ signal: AbortSignal.timeout(20_000) });
    seen.push(frame);
    if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
  }
}

/** Two operator steps in a row: the run still waits after the first is acked. */
const TWO_SPAWNS = {
  id: "acks",
  operators: [{ name: "main-ai" }],
  agents: [
    { name: "one", kind: "operator", spec: { operator_ref: "main-ai" } },
    { name: "two", kind: "operator", spec: { operator_ref: "main-ai" } },
  ],
  flow: {
    kind: "seq",
    children: [
      { kind: "step", ref: "one", in: "'first'", out: "$.a" },
      { kind: "step", ref: "two", in: "'second'", out: "$.b" },
    ],
  },
};

async function seatAndRun(server: { base: string; wsBase: string }) {
  const minted = await call(server, "POST", "/v1/operators", { roles: ["main-ai"] });
  assert.equal(minted.status, 200);
  const { sid, token } = minted.body as { sid: string; token: string };
  const ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  const started = await call(server, "POST", "/v1/runs", {
    blueprint: { kind: "inline", value: TWO_SPAWNS },
    init_ctx: {},
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  return { sid, token, ws, runId: started.body!.run_id as string };
}

Deno.test("SIGKILL right after a pong-confirmed spawn_ack: the request is never replayed", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const { sid, token, ws, runId } = await seatAndRun(first);
  const spawn = await nextOf(ws, "spawn");
  assert.equal(spawn.agent, "one");
  ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: "acked before the crash" });
  ws.send({ type: "ping" });
  await nextOf(ws, "pong");
  await first.kill("SIGKILL");
  await ws.closed;

  await using second = await spawnServer(kvFile.path);
  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  const seen: ServerFrame[] = [];
  const next = await nextOf(ws2, "spawn", seen);
  assert.equal(next.agent, "two", "the confirmed spawn is not sent again");
  ws2.send({ type: "spawn_ack", req_id: next.req_id, ok: true, value: "after" });
  ws2.send({ type: "ping" });
  await nextOf(ws2, "pong", seen);
  seen.push(...ws2.buffered());
  assert.deepEqual(
    seen.filter((f) => f.type === "spawn" || f.type === "error").map((f) => f.type),
    ["spawn"],
    JSON.stringify(seen),
  );

  let run = await call(second, "GET", `/v1/runs/${runId}`);
  for (let i = 0; i < 200 && run.body!.status === "running"; i++) {
    await new Promise((r) => setTimeout(r, 20));
    run = await call(second, "GET", `/v1/runs/${runId}`);
  }
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, { a: "acked before the crash", b: "after" });
  const steps = run.body!.steps as Array<{ agent: string; attempt: number; verdict: string }>;
  assert.deepEqual(steps.filter((s) => s.agent === "one").map((s) => s.attempt), [1]);
  await ws2.close();
});

Deno.test("SIGKILL right after a 204 from /v1/worker/submit: the result is kept", async () => {
  await using kvFile = await tempKv();
  const first = await spawnServer(kvFile.path);
  const { sid, token, ws, runId } = await seatAndRun(first);
  const spawn = await nextOf(ws, "spawn");
  const auth = { authorization: `Bearer ${spawn.worker_handle}` };
  const res = await fetch(`${first.base}/v1/worker/submit`, {
    method: "POST",
    headers: auth,
    body: "written by the worker\n",
  });
  assert.equal(res.status, 204, await res.text());
  await first.kill("SIGKILL");
  await ws.closed;

  await using second = await spawnServer(kvFile.path);
  // the result is there: a second one is refused (the first wins)
  const again = await fetch(`${second.base}/v1/worker/submit`, {
    method: "POST",
    headers: auth,
    body: "a second result",
  });
  assert.equal(again.status, 409, await again.text());
  const ws2 = await openSocket(`${second.wsBase}/v1/operators/${sid}/ws`, { token });
  const replayed = await nextOf(ws2, "spawn");
  assert.equal(replayed.req_id, spawn.req_id, "the spawn was not acked: it is replayed");
  ws2.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
  const next = await nextOf(ws2, "spawn");
  assert.equal(next.agent, "two");
  ws2.send({ type: "spawn_ack", req_id: next.req_id, ok: true, value: 2 });

  let run = await call(second, "GET", `/v1/runs/${runId}`);
  for (let i = 0; i < 200 && run.body!.status === "running"; i++) {
    await new Promise((r) => setTimeout(r, 20));
    run = await call(second, "GET", `/v1/runs/${runId}`);
  }
  assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
  assert.deepEqual(run.body!.final_ctx, { a: "written by the worker", b: 2 });
  await ws2.close();
});
