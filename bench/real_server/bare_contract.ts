/**
 * The contract's floor for one operator round trip: `bare_server.ts` plus only
 * what SPEC §2–§5 require of this path, with none of Switchboard's own machinery
 * (no run record, journal, events, log, metrics, timers or store):
 *
 * - the body checked against `TaskBody` (zod, the schema the server publishes);
 * - a run id, a task id and a `<sid>-spawn-<uuid>` request id;
 * - a capability token (HMAC-SHA256, the 0.1.2 encoding) and a worker handle;
 * - the spawn frame with every field the contract names, 0.1.2's directive included;
 * - the reply checked against `ClientFrame`;
 * - the `/v1/tasks` answer with its four fields.
 *
 * `contract_floor.ts` drives it as the stick drives `bare_server.ts` (`POST /run`,
 * socket `/ws`). Env: `PORT`. Prints `ready` when it listens. Run it from the
 * project root (it imports the server's schemas through `deno.json`).
 *
 * @module
 */
import { TaskBody } from "../../protocol/tasks.ts";
import { ClientFrame } from "../../protocol/frames.ts";
import { encodeToken, tokenSigner } from "../../engine/captoken.ts";
import { spawnDirectiveJson } from "../../session/directive.ts";

const port = Number(Deno.env.get("PORT"));
const baseUrl = `http://127.0.0.1:${port}`;
const sign = tokenSigner(crypto.getRandomValues(new Uint8Array(32)));
const pending = new Map<string, (v: unknown) => void>();
let sock: WebSocket | null = null;
const sid = `op-${crypto.randomUUID()}`;

function hex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => console.log("ready") }, async (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/ws") {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => {
      const parsed = ClientFrame.safeParse(JSON.parse(e.data));
      if (!parsed.success || parsed.data.type !== "spawn_ack") return;
      pending.get(parsed.data.req_id)?.(parsed.data.value);
      pending.delete(parsed.data.req_id);
    };
    sock = socket;
    return response;
  }
  const parsed = TaskBody.safeParse(await req.json());
  if (!parsed.success) return Response.json({ error: "invalid body" }, { status: 422 });
  const body = parsed.data;
  if (body.blueprint.kind !== "inline") {
    return Response.json({ error: "inline only" }, { status: 400 });
  }
  const agent = body.blueprint.value.agents?.[0]?.name ?? "agent";
  const taskId = `T-${hex(8)}`;
  const reqId = `${sid}-spawn-${crypto.randomUUID()}`;
  const now = Math.floor(Date.now() / 1000);
  const token = encodeToken(sign({
    agent_id: `worker-of-${taskId}`,
    role: "worker",
    scopes: ["*"],
    issued_at: now,
    expire_at: now + 1800,
    max_uses: null,
    nonce: hex(16),
  }));
  const frame = JSON.stringify({
    type: "spawn",
    req_id: reqId,
    task_id: taskId,
    agent,
    attempt: 1,
    capability_token: token,
    worker_handle: `wh-${hex(16)}`,
    directive: "",
    run_id: `run-${hex(10)}`,
  }).replace('"directive":""', `"directive":${spawnDirectiveJson({ baseUrl, agent, taskId })}`);
  const value = await new Promise((resolve) => {
    pending.set(reqId, resolve);
    sock!.send(frame);
  });
  return Response.json({
    final_ctx: { r: value },
    bound_version: null,
    effective_ttl_secs: 1800,
    ttl_source: "server_default",
  });
});
