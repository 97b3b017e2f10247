/**
 * The floor of a cross-instance spawn round trip under issue 14's rules: rows
 * are the truth and `NOTIFY` carries ids only. Two of these processes share one
 * database; `ROLE=B` takes the `POST`, `ROLE=A` holds the operator's socket:
 *
 * 1. B inserts the request row and notifies its id, in one statement;
 * 2. A hears the id, reads the row and sends its frame over the socket;
 * 3. A applies the reply at most once (a conditional update) and notifies its id;
 * 4. B hears the id, reads the reply and answers the `POST`.
 *
 * Nothing else: no run records, no tokens, no journal. What Switchboard does on
 * top of this is its own cost; this is what the rules cost on this machine.
 * With `PAYLOAD=1` each notification carries its row (the frame, the reply), so
 * neither side reads: two commits and two notifications, the least any design
 * that commits before handing over can do.
 * Env: `DATABASE_URL`, `PORT`, `ROLE`, `PAYLOAD`. Prints one line when it
 * listens. The table `floor_req (id text primary key, frame text, value text)`
 * must exist.
 *
 * @module
 */
import postgres from "postgres";

const sql = postgres(Deno.env.get("DATABASE_URL")!, { max: 2, onnotice: () => {} });
const role = Deno.env.get("ROLE");
const payload = Deno.env.get("PAYLOAD") === "1";

const waiting = new Map<string, (value: unknown) => void>();
let sock: WebSocket | null = null;

if (role === "A") {
  await sql.listen("floor_req", async (note) => {
    if (payload) return sock?.send(note);
    const [row] = await sql`SELECT frame FROM floor_req WHERE id = ${note}`;
    if (row) sock?.send(row.frame);
  });
} else {
  await sql.listen("floor_rep", async (note) => {
    const space = note.indexOf(" ");
    const id = payload ? note.slice(0, space) : note;
    const resolve = waiting.get(id);
    if (!resolve) return;
    waiting.delete(id);
    if (payload) return resolve(JSON.parse(note.slice(space + 1)));
    const [row] = await sql`SELECT value FROM floor_req WHERE id = ${id}`;
    resolve(JSON.parse(row.value));
  });
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT")),
  onListen() {
    console.log("ready");
  },
}, async (req) => {
  if (new URL(req.url).pathname === "/ws") {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = async (e) => {
      const m = JSON.parse(e.data);
      await sql`WITH u AS (
        UPDATE floor_req SET value = ${JSON.stringify(m.value)}
        WHERE id = ${m.req_id} AND value IS NULL RETURNING id, value
      ) SELECT pg_notify('floor_rep', CASE WHEN ${payload} THEN id || ' ' || value ELSE id END)
        FROM u`;
    };
    sock = socket;
    return response;
  }
  const body = await req.json();
  const id = `op-x-spawn-${crypto.randomUUID()}`;
  const frame = JSON.stringify({
    type: "spawn",
    req_id: id,
    task_id: "T-1",
    agent: "impl",
    attempt: 1,
    capability_token: "t",
    directive: String(body.flow?.in?.value ?? ""),
  });
  const value = await new Promise((resolve, reject) => {
    waiting.set(id, resolve);
    sql`WITH i AS (INSERT INTO floor_req (id, frame) VALUES (${id}, ${frame}))
      SELECT pg_notify('floor_req', ${payload ? frame : id})`.catch(reject);
  });
  return Response.json({ final_ctx: { r: value } });
});
