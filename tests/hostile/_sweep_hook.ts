/**
 * A hostile webhook worker on 127.0.0.1 for the sweep: it answers slowly, hugely,
 * with redirects, broken JSON, wrong shapes, or it never answers; its `callback`
 * route posts hostile finals back with the capability token it was given.
 *
 * @module
 */

const MiB = 1024 * 1024;
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Ends every wait and stream of the hostile worker (its dispose). */
const closing = { signal: new AbortController().signal };

/** A stream of `total` bytes of `byte`, `chunk` at a time, `gapMs` apart. */
function bytes(total: number, chunk: number, gapMs: number, byte = 0x20) {
  let sent = 0;
  const block = new Uint8Array(chunk).fill(byte);
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent >= total || closing.signal.aborted) return c.close();
      if (gapMs) await sleep(gapMs, closing.signal);
      sent += chunk;
      c.enqueue(block);
    },
  });
}

const deep = (n: number) => '{"value":' + "[".repeat(n) + "]".repeat(n) + "}";

/** Replies by path; each is one hostile behaviour. */
const REPLIES: Record<string, (req: Request) => Response | Promise<Response>> = {
  slow: async (req) => {
    await sleep(5_000, AbortSignal.any([req.signal, closing.signal]));
    return Response.json({ value: "late" });
  },
  hang: async (req) => {
    await sleep(120_000, AbortSignal.any([req.signal, closing.signal]));
    return Response.json({ value: "never" });
  },
  trickle: () =>
    new Response(bytes(10 * MiB, 1, 50), { headers: { "content-type": "application/json" } }),
  huge: () =>
    new Response(bytes(64 * MiB, MiB, 0), { headers: { "content-type": "application/json" } }),
  "huge-length": () =>
    new Response(bytes(64 * 1024, 1024, 0), {
      headers: { "content-length": String(10 * 1024 ** 3) },
    }),
  redirect: () => new Response(null, { status: 307, headers: { location: "/ok" } }),
  "redirect-loop": () =>
    new Response(null, { status: 302, headers: { location: "/redirect-loop" } }),
  broken: () => new Response('{"value":', { headers: { "content-type": "application/json" } }),
  "not-json": () => new Response("<html>no</html>", { headers: { "content-type": "text/html" } }),
  "wrong-shape": () =>
    new Response('[{"value":1}]', { headers: { "content-type": "application/json" } }),
  "null": () => new Response("null", { headers: { "content-type": "application/json" } }),
  deep: () => new Response(deep(200_000), { headers: { "content-type": "application/json" } }),
  "deep-129": () => new Response(deep(129), { headers: { "content-type": "application/json" } }),
  big: () => Response.json({ value: "v".repeat(2 * MiB - 100) }),
  numbers: () => new Response('{"value":[1e999,-1e999,123456789012345678901234567890]}'),
  proto: () =>
    new Response(
      '{"value":{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}},"ok":true}',
    ),
  surrogate: () => new Response('{"value":"\\ud800x\\udc00\\udc00"}'),
  "bad-utf8": () =>
    new Response(
      new Uint8Array([
        0x7b,
        0x22,
        0x76,
        0x61,
        0x6c,
        0x75,
        0x65,
        0x22,
        0x3a,
        0x22,
        0xff,
        0xfe,
        0x22,
        0x7d,
      ]),
    ),
  "status-500": () =>
    new Response("Error: boom\n    at handler (file:///srv/app.ts:1:1)", { status: 500 }),
  "status-204": () => new Response(null, { status: 204 }),
  "ok-false": () => Response.json({ value: { why: "x".repeat(100_000) }, ok: false }),
  ok: () => Response.json({ value: "ok" }),
};

/** What the callback route posts back, with the token it was handed. */
function callbackBodies(taskId: string, token: string): unknown[] {
  return [
    { task_id: taskId, capability_token: token, value: "[".repeat(10_000) },
    { task_id: taskId, capability_token: token, value: JSON.parse(deep(100)).value },
    { task_id: taskId, capability_token: token, value: "x".repeat(3 * MiB) },
    { task_id: taskId + "x", capability_token: token, value: 1 },
    { task_id: taskId, capability_token: token, value: 1, ok: "yes" },
    { task_id: taskId, capability_token: token, value: { __proto__: 1 }, ok: true },
    { task_id: taskId, capability_token: token, value: "final", ok: true },
    { task_id: taskId, capability_token: token, value: "second final", ok: true },
  ];
}

/** Starts the hostile worker; `hookTable` is the `SWITCHBOARD_WEBHOOKS` value for it. */
export function startHostileHook(serverBase: () => string | undefined) {
  const stop = new AbortController();
  closing.signal = stop.signal;
  const callbacks: Promise<void>[] = [];
  const seen: { path: string; status: number }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const name = new URL(req.url).pathname.slice(1);
    if (name === "callback") {
      const body = await req.json();
      const base = serverBase();
      if (base) {
        callbacks.push((async () => {
          for (const b of callbackBodies(body.task_id, body.capability_token)) {
            const res = await fetch(`${base}/v1/worker/result`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(b),
              signal: AbortSignal.timeout(10_000),
            }).catch(() => undefined);
            seen.push({ path: "callback", status: res?.status ?? 0 });
            await res?.body?.cancel();
          }
        })());
      }
      return new Response(null, { status: 202 });
    }
    await req.body?.cancel();
    const reply = REPLIES[name];
    return reply ? reply(req) : new Response("no", { status: 404 });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const table: Record<string, unknown> = {};
  for (const name of Object.keys(REPLIES)) {
    table[`hook_${name}`] = { url: `${url}/${name}`, timeout_ms: 1_500 };
  }
  table.hook_callback = { url: `${url}/callback`, mode: "callback", timeout_ms: 5_000 };
  return {
    url,
    hookTable: JSON.stringify(table),
    fnIds: Object.keys(table),
    /** Statuses the server gave the callback's hostile finals. */
    seen,
    async [Symbol.asyncDispose]() {
      stop.abort();
      await Promise.allSettled(callbacks);
      await server.shutdown();
    },
  };
}
