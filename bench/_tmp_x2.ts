import { freshDatabase } from "../tests/_pg.ts";
import { spawnBlueprint } from "./_blueprints.ts";
const N = Number(Deno.env.get("N") ?? 1000);
const url = await freshDatabase();
const port = 30000 + Math.floor(Math.random() * 10000);
const start = (id: string, p: number) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: Deno.cwd(),
    env: {
      PGDBG: "1",
      SWITCHBOARD_WARMUP: "0",
      SWITCHBOARD_DATABASE_URL: url,
      SWITCHBOARD_INSTANCE_ID: id,
      PORT: String(p),
      HOST: "127.0.0.1",
      SWITCHBOARD_RUN_LEASE_SECS: "10",
      LOG_LEVEL: "warn",
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
const ca = start("a", port), cb = start("b", port + 1);
const A = `http://127.0.0.1:${port}`, B = `http://127.0.0.1:${port + 1}`;
for (const base of [A, B]) {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${base}/v1/healthz`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* */ }
    await new Promise((r) => setTimeout(r, 100));
  }
}
const post = (u: string, b: string) =>
  fetch(u, { method: "POST", headers: { "content-type": "application/json" }, body: b });
const m = await (await post(`${A}/v1/operators`, JSON.stringify({ roles: ["main-ai"] }))).json();
for (let i = 0; i < 100; i++) {
  const r = await fetch(`${B}/v1/operators/${m.sid}`, {
    headers: { authorization: `Bearer ${m.token}` },
  });
  await r.body?.cancel();
  if (r.ok) break;
  await new Promise((r) => setTimeout(r, 50));
}
const ws = new WebSocket(
  `${A.replace("http", "ws")}/v1/operators/${m.sid}/ws`,
  { headers: { authorization: `Bearer ${m.token}` } } as unknown as string[],
);
await new Promise((r) => ws.onopen = r);
ws.onmessage = (e) => {
  const f = JSON.parse(e.data);
  if (f.type === "spawn") {
    ws.send(JSON.stringify({ type: "spawn_ack", req_id: f.req_id, value: { ok: 1 }, ok: true }));
  }
};
const body = JSON.stringify({
  blueprint: { kind: "inline", value: spawnBlueprint("perf", m.roles[0]) },
  init_ctx: {},
});
for (let i = 0; i < N; i++) {
  const r = await post(`${B}/v1/tasks`, body);
  if (r.status !== 200) throw new Error(await r.text());
  await r.json();
}
await new Promise((r) => setTimeout(r, 500));
ca.kill("SIGUSR2");
cb.kill("SIGUSR2");
await new Promise((r) => setTimeout(r, 500));
ws.close();
ca.kill("SIGKILL");
cb.kill("SIGKILL");
for (const [id, c] of [["A", ca], ["B", cb]] as const) {
  const t = await new Response(c.stderr).text();
  console.log(
    `== ${id}\n` +
      t.split("\n").filter((l) =>
        l.startsWith("Q ") || l.startsWith("P ") || l.startsWith("S ") || l.startsWith("   ")
      ).join("\n"),
  );
}
Deno.exit(0);
