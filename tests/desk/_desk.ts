/**
 * Helpers for the operator's-desk tests: seats that declare a client, ask-node
 * Blueprints and the SSE history of an ended run.
 *
 * @module
 */
import { openSocket, sseEvents, type TestServer, until } from "../_helpers.ts";
import type { Seat } from "../engine/_loop.ts";

/** Mints a seat (body as given) and connects it with `?client=`. */
export async function seatWith(
  server: TestServer,
  body: Record<string, unknown>,
  client = "desk-test/1.0",
): Promise<Seat> {
  const res = await fetch(`${server.base}/v1/operators`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`mint failed: ${res.status} ${await res.text()}`);
  const { sid, token } = await res.json();
  return await connect(server, sid, token, client);
}

/** Connects an existing seat with `?client=`. */
export async function connect(
  server: TestServer,
  sid: string,
  token: string,
  client = "desk-test/1.0",
) {
  const ws = await openSocket(
    `${server.wsBase}/v1/operators/${sid}/ws?client=${encodeURIComponent(client)}`,
    { token },
  );
  await until(() => server.deps.sessions.get(sid)?.connected === true);
  return { sid, token, ws };
}

/** An inline Blueprint whose flow is `flow` (no agents). */
export function flowBlueprint(flow: unknown, id = "desk") {
  return { kind: "inline", value: { id, flow } };
}

/** The events of a run as its SSE stream replays them (the run has ended). */
export async function eventsOf(
  server: TestServer,
  runId: string,
): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const res = await fetch(`${server.base}/v1/runs/${runId}/events`);
  return sseEvents(await res.text());
}
