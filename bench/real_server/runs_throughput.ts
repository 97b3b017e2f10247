// Throughput: 16 clients loop POST /v1/tasks on a stored 3-step identity blueprint for a fixed time,
// against a bare Deno.serve JSON handler driven by the same client loop, in the same run.
const BASE = Deno.env.get("BASE")!;
const SECS = Number(Deno.env.get("SECS") ?? 3);
const C = Number(Deno.env.get("C") ?? 16);
const GOAL = Number(Deno.env.get("GOAL") ?? 0.25);

async function drive(
  url: string,
  body: string,
  check: (j: { final_ctx?: { s3?: { echoed?: string } } } | null) => boolean,
) {
  let n = 0, bad = 0;
  const end = performance.now() + SECS * 1000;
  await Promise.all(Array.from({ length: C }, async () => {
    while (performance.now() < end) {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const j = await r.json().catch(() => null);
      if (r.status === 200 && check(j)) n++;
      else bad++;
    }
  }));
  return { perSec: n / SECS, bad };
}

const id = `tp-${crypto.randomUUID().slice(0, 8)}`;
const ident = (i: number) => ({
  kind: "step",
  ref: "identity",
  in: { op: "lit", value: `v${i}` },
  out: { op: "path", at: `$.s${i}` },
});
const bp = {
  id,
  agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
  flow: { kind: "seq", children: [ident(1), ident(2), ident(3)] },
};
const put = await fetch(`${BASE}/v1/blueprints/${id}`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(bp),
});
if (put.status !== 201 && put.status !== 200) {
  console.log(`runs throughput: FAILED: blueprint POST answered ${put.status} ${await put.text()}`);
  Deno.exit(1);
}
await put.body?.cancel();
const body = JSON.stringify({ blueprint: { kind: "id", id }, init_ctx: {} });
const ours = await drive(`${BASE}/v1/tasks`, body, (j) => j?.final_ctx?.s3?.echoed === "v3");

const port = 40000 + Math.floor(Math.random() * 20000);
const ac = new AbortController();
const srv = Deno.serve(
  { port, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
  async (req) => {
    const j = await req.json();
    return Response.json({ final_ctx: { s3: { echoed: "v3" } }, got: j.init_ctx });
  },
);
const bare = await drive(
  `http://127.0.0.1:${port}/`,
  body,
  (j) => j?.final_ctx?.s3?.echoed === "v3",
);
ac.abort();
await srv.finished;

const ratio = ours.perSec / bare.perSec;
console.log(
  `runs throughput (${C} clients, 3-step run): switchboard ${
    ours.perSec.toFixed(0)
  }/s (${ours.bad} bad), bare JSON handler ${bare.perSec.toFixed(0)}/s, ratio ${
    ratio.toFixed(2)
  } (goal >= ${GOAL})`,
);
Deno.exit(ratio >= GOAL && ours.bad === 0 ? 0 : 1);
