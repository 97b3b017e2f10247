// The floor for one operator round trip: HTTP request in, one JSON frame out over
// an already open WebSocket, the reply matched by req_id, JSON response out.
const pending = new Map<string, (v: unknown) => void>();
let sock: WebSocket | null = null;
Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT")),
  onListen() {
    console.log("ready");
  },
}, async (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/ws") {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => {
      const m = JSON.parse(e.data);
      pending.get(m.req_id)?.(m.value);
      pending.delete(m.req_id);
    };
    sock = socket;
    return response;
  }
  const body = await req.json();
  const req_id = `op-x-spawn-${crypto.randomUUID()}`;
  const value = await new Promise((res) => {
    pending.set(req_id, res);
    sock!.send(
      JSON.stringify({
        type: "spawn",
        req_id,
        task_id: "T-1",
        agent: "impl",
        attempt: 1,
        capability_token: "t",
        directive: String(body.flow?.in?.value ?? ""),
      }),
    );
  });
  return Response.json({ final_ctx: { r: value } });
});
