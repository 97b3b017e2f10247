/**
 * The one-spawn run most cluster scenarios start, and the waits around it.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { openSocket } from "../_helpers.ts";
import { freshDatabase } from "../_pg.ts";
import {
  eventually,
  getJson,
  type Instance,
  nextOf,
  post,
  runEnded,
  seatOn,
  startCluster,
} from "./_instances.ts";

/** One operator agent behind `role`: a spawn, answered by spawn_ack. */
export function oneSpawn(id = "one-spawn", role = "main-ai") {
  return {
    id,
    operators: [{ name: role }],
    agents: [{ name: "impl", kind: "operator", spec: { operator_ref: role } }],
    flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
  };
}

/**
 * Starts a run of an inline `blueprint` (default: one spawn) on `on` with an
 * empty ctx and `extra` body fields (`POST /v1/runs`, 202); returns its id.
 */
export async function startRunOn(
  on: Instance,
  blueprint: unknown = oneSpawn(),
  extra: Record<string, unknown> = {},
) {
  const started = await post(on.base, "/v1/runs", {
    blueprint: { kind: "inline", value: blueprint },
    init_ctx: {},
    ...extra,
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  return started.body!.run_id as string;
}

/** Waits until `on` sees the seat's socket held (by the instance that claimed it). */
export async function heldSeen(on: Instance, sid: string, token: string) {
  await eventually(
    async () => {
      const { body } = await getJson<{ connected: boolean }>(
        on.base,
        `/v1/operators/${sid}`,
        token,
      );
      return body.connected ? true : undefined;
    },
    10_000,
    `${on.id} sees the socket of ${sid}`,
  );
}

/**
 * Reconnects the seat to `on`, checks that `spawn` is replayed unchanged (same
 * req_id), acks it with `value`, and checks that the run, read on `reader`,
 * succeeds with it.
 */
export async function ackReplayed(
  on: Instance,
  op: { sid: string; token: string },
  spawn: Extract<ServerFrame, { type: "spawn" }>,
  reader: Instance,
  runId: string,
  value: string,
) {
  const ws = await openSocket(`${on.wsBase}/v1/operators/${op.sid}/ws`, { token: op.token });
  try {
    const replayed = await nextOf(ws, "spawn");
    assert.deepEqual(replayed, spawn, "the same frame, same req_id");
    ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value });
    const run = await runEnded(reader, runId);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.deepEqual(run.final_ctx, { r: value });
  } finally {
    await ws.close();
  }
}

/**
 * A scenario on a fresh database: instances `ids`, a seat for `roles` on the
 * first; runs `body`, prints every instance's log when it throws, and closes the
 * seat's socket.
 */
export async function withCluster(
  ids: string[],
  roles: string[],
  body: (
    cluster: Instance[],
    op: Awaited<ReturnType<typeof seatOn>>,
    url: string,
  ) => Promise<void>,
) {
  const url = await freshDatabase();
  await using cluster = await startCluster(url, ids);
  const op = await seatOn(cluster[0], roles);
  try {
    await body(cluster, op, url);
  } catch (err) {
    for (const i of cluster) console.error(`--- ${i.id}\n${i.stderr()}`);
    throw err;
  } finally {
    await op.ws.close();
  }
}
