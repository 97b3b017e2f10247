/**
 * The Blueprints the benches drive, as the shared measuring stick writes them:
 * one operator `spawn` step, and three in-process `identity` steps; and the
 * stick's seat, which acks every spawn.
 *
 * @module
 */

/**
 * The stick's operator: a socket on `wsUrl` (with `token` as its bearer, if any)
 * that answers every `spawn` with `spawn_ack {value: {ok: 1}}`; resolves once open.
 */
export async function spawnAcker(wsUrl: string, token?: string): Promise<WebSocket> {
  // `as`: Deno's WebSocket takes an options object with headers (not in the DOM typing)
  const init = token === undefined
    ? undefined
    : { headers: { authorization: `Bearer ${token}` } } as unknown as string[];
  const ws = new WebSocket(wsUrl, init);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.type === "spawn") {
      ws.send(JSON.stringify({ type: "spawn_ack", req_id: f.req_id, value: { ok: 1 }, ok: true }));
    }
  };
  return ws;
}

/** One operator agent behind `role`: a `spawn` of `"x"`, its value at `$.r`. */
export function spawnBlueprint(id: string, role: string) {
  return {
    id,
    operators: [{ name: role }],
    agents: [{ name: "impl", kind: "operator", spec: { operator_ref: role } }],
    flow: {
      kind: "step",
      ref: "impl",
      in: { op: "lit", value: "x" },
      out: { op: "path", at: "$.r" },
    },
  };
}

/** Three `identity` steps in a row, writing `$.s1`..`$.s3`. */
export function identityBlueprint(id: string) {
  const step = (i: number) => ({
    kind: "step",
    ref: "identity",
    in: { op: "lit", value: `v${i}` },
    out: { op: "path", at: `$.s${i}` },
  });
  return {
    id,
    agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: { kind: "seq", children: [step(1), step(2), step(3)] },
  };
}
