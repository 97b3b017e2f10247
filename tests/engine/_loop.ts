/**
 * Helpers for operator-in-the-loop tests: a seated operator, runs over HTTP, and
 * a sub-agent that only speaks HTTP with the credentials it was handed.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { openSocket, type TestServer, type TestSocket, until } from "../_helpers.ts";

/** A seat with a live socket. */
export interface Seat {
  sid: string;
  token: string;
  ws: TestSocket;
}

/** Mints a seat, connects it, waits until the server sees it live. */
export async function seat(server: TestServer, roles: string[] = []): Promise<Seat> {
  const minted = await server.mint(roles);
  const ws = await openSocket(`${server.wsBase}/v1/operators/${minted.sid}/ws`, {
    token: minted.token,
  });
  await until(() => server.deps.sessions.get(minted.sid)?.connected === true);
  return { sid: minted.sid, token: minted.token, ws };
}

/** POSTs JSON and returns status and parsed body. */
export async function post(
  server: TestServer,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(`${server.base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** GETs JSON. */
export async function get(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(`${server.base}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Starts an async run and returns its id. */
export async function startRun(server: TestServer, body: unknown): Promise<string> {
  const res = await post(server, "/v1/runs", body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body!.run_id as string;
}

/** Waits until a run has ended and returns its view. */
export async function runEnded(server: TestServer, runId: string) {
  await server.deps.engine.settled(runId);
  const res = await get(server, `/v1/runs/${runId}`);
  assert.equal(res.status, 200);
  return res.body as {
    status: string;
    final_ctx?: unknown;
    error?: string;
    steps: Array<{ agent: string; verdict: string; attempt: number; task_id: string }>;
  };
}

/** The next frame of a given type (earlier frames of other types are dropped). */
export async function nextOf<T extends ServerFrame["type"]>(
  ws: TestSocket,
  type: T,
): Promise<Extract<ServerFrame, { type: T }>> {
  while (true) {
    const frame = await ws.next();
    if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
  }
}

/** An inline Blueprint with one operator-kind agent `impl` behind role `main-ai`. */
export function operatorAgentBlueprint(extra: Record<string, unknown> = {}) {
  return {
    id: "loop",
    operators: [{ name: "main-ai" }],
    agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } }],
    flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
    ...extra,
  };
}

/** An inline Blueprint with one `rust_fn` agent `impl` running `fnId`. */
export function fnBlueprint(fnId: string, extra: Record<string, unknown> = {}) {
  return {
    id: "fn-loop",
    agents: [{ name: "impl", kind: "rust_fn", spec: { fn_id: fnId } }],
    flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
    ...extra,
  };
}

/**
 * A seat for `main-ai` and an async run of `blueprint` (default: one operator
 * step), up to the run's first `spawn` frame.
 */
export async function firstSpawn(
  server: TestServer,
  blueprint: Record<string, unknown> = operatorAgentBlueprint(),
) {
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: { kind: "inline", value: blueprint },
    init_ctx: {},
  });
  return { op, runId, spawn: await nextOf(op.ws, "spawn") };
}

/**
 * Runs a main_ai-hooked identity Blueprint (`bp` overrides its fields) with a seat
 * as its spawn hook, acks every `hook_before`, and counts them.
 */
export async function hooksFired(
  server: TestServer,
  bp: Record<string, unknown>,
  operator: object,
) {
  const op = await seat(server);
  let fired = 0;
  const loop = (async () => {
    while (true) {
      const frame = await Promise.race([op.ws.next(), op.ws.closed.then(() => null)])
        .catch(() => null);
      if (!frame) return;
      if (frame.type === "hook_before") {
        fired++;
        op.ws.send({ type: "hook_ack", req_id: frame.req_id, ok: true });
      }
    }
  })();
  const runId = await startRun(server, {
    blueprint: {
      kind: "inline",
      value: {
        id: "tiers",
        spawner_hints: { layers: ["main_ai"] },
        agents: [{
          name: "impl",
          kind: "rust_fn",
          spec: { fn_id: "identity", operator_ref: "lead" },
        }],
        flow: { kind: "step", ref: "impl", in: "'x'", out: "$.r" },
        ...bp,
      },
    },
    init_ctx: {},
    operator: { spawn_hook_id: op.sid, ...operator },
  });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  await op.ws.close();
  await loop;
  return fired;
}
