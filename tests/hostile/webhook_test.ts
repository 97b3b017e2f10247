/**
 * Findings 2 and 9 and private targets: webhook replies are read against a cap,
 * redirects are never followed, and private or link-local targets are refused.
 * Every listener is on 127.0.0.1; the refused targets are never connected to.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { probeHealth } from "./_probe.ts";

function blueprint(fnId: string) {
  return {
    kind: "inline",
    value: {
      id: "webhook",
      agents: [{ name: "impl", kind: "rust_fn", spec: { fn_id: fnId } }],
      flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
    },
  };
}

async function runTask(base: string, fnId: string) {
  const res = await fetch(`${base}/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ blueprint: blueprint(fnId), init_ctx: {} }),
  });
  return { status: res.status, body: await res.json() as { error?: string } };
}

Deno.test("a webhook reply of 300 MiB fails the step at the 2 MiB cap and the server stays up (finding 2)", async () => {
  let sent = 0;
  const chunk = new Uint8Array(1024 * 1024).fill(0x20);
  await using hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 300 * 1024 * 1024) return c.close();
        sent += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  const url = `http://127.0.0.1:${hook.addr.port}/big`;
  await using server = await startServer({
    config: { webhooksJson: JSON.stringify({ big: { url } }) },
  });
  // One of three attempts must keep every probe under 100 ms: other processes on the same
  // cores can delay one probe, but a server that reads the whole reply stalls every attempt.
  const worsts: number[] = [];
  for (let attempt = 0; attempt < 3 && !worsts.some((w) => w < 100); attempt++) {
    sent = 0;
    const rssBefore = Deno.memoryUsage().rss;
    const probe = probeHealth(server.base);
    const res = await runTask(server.base, "big");
    const latencies = await probe.stop();
    assert.equal(res.status, 400);
    assert.match(res.body.error!, /webhook body read failed: reply body larger than 2097152 bytes/);
    assert.ok(sent < 64 * 1024 * 1024, `the server read ${sent} bytes`);
    assert.ok(Deno.memoryUsage().rss - rssBefore < 200 * 1024 * 1024);
    worsts.push(Math.max(...latencies));
  }
  assert.ok(worsts.some((w) => w < 100), `healthz took ${worsts.join(", ")} ms`);
});

Deno.test("a webhook reply with a Content-Length over the cap is refused unread", async () => {
  await using hook = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.json({ value: "x".repeat(5_000) }),
  );
  await using server = await startServer({
    config: {
      webhooksJson: JSON.stringify({
        small: { url: `http://127.0.0.1:${hook.addr.port}/`, max_response_bytes: 1_000 },
      }),
    },
  });
  const res = await runTask(server.base, "small");
  assert.equal(res.status, 400);
  assert.match(res.body.error!, /reply body larger than 1000 bytes/);
});

Deno.test("a webhook that answers 307 fails the step and the redirect target gets nothing (finding 9)", async () => {
  const leaked: Request[] = [];
  await using target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    leaked.push(req);
    return Response.json({ value: "stolen" });
  });
  await using hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    return new Response(null, {
      status: 307,
      headers: { location: `http://127.0.0.1:${target.addr.port}/steal` },
    });
  });
  for (const mode of ["sync", "callback"]) {
    await using server = await startServer({
      config: {
        webhooksJson: JSON.stringify({
          r: {
            url: `http://127.0.0.1:${hook.addr.port}/`,
            mode,
            headers: { "x-api-key": "secret" },
          },
        }),
      },
    });
    const res = await runTask(server.base, "r");
    assert.equal(res.status, 400);
    assert.match(
      res.body.error!,
      /webhook answered a redirect \(307\); redirects are not followed/,
    );
  }
  assert.equal(leaked.length, 0);
});

Deno.test("webhooks to private and link-local addresses are refused before any connection", async () => {
  const table = {
    ten: { url: "http://10.1.2.3:9/" },
    meta: { url: "http://169.254.169.254/latest" },
    v6: { url: "http://[fe80::1]:9/" },
    mapped: { url: "http://[::ffff:192.168.0.1]:9/" },
  };
  await using server = await startServer({ config: { webhooksJson: JSON.stringify(table) } });
  for (const fnId of Object.keys(table)) {
    const res = await runTask(server.base, fnId);
    assert.equal(res.status, 400);
    assert.match(
      res.body.error!,
      /is a private or link-local address .*SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE=1/,
      fnId,
    );
  }
});

Deno.test("a webhook reply nested 200,000 deep fails its step unparsed; 128 levels still pass", async () => {
  // JSON.parse built 200,000 arrays per reply before the depth check (20 such
  // replies held the event loop ~0.6 s)
  const nest = (n: number) => `{"value":${"[".repeat(n)}${"]".repeat(n)}}`;
  await using hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    return new Response(new URL(req.url).pathname === "/deep" ? nest(200_000) : nest(128));
  });
  const url = (path: string) => `http://127.0.0.1:${hook.addr.port}${path}`;
  await using server = await startServer({
    config: {
      webhooksJson: JSON.stringify({ deep: { url: url("/deep") }, ok: { url: url("/ok") } }),
    },
  });
  const deep = await runTask(server.base, "deep");
  assert.equal(deep.status, 400);
  assert.match(deep.body.error!, /webhook answered JSON nested deeper than 128 levels/);
  const ok = await runTask(server.base, "ok");
  assert.equal(ok.status, 200, JSON.stringify(ok.body).slice(0, 300));
});

Deno.test("a webhook reply sent one byte per chunk holds its bytes, not 64 KiB per byte", async () => {
  // A chunk `fetch` yields is a view on a buffer of up to 64 KiB: a reader that kept
  // the chunks held kilobytes per byte of such a reply (here 100,000 bytes: +870 MB
  // of RSS; 3 s of a fast sender: +3.7 GB; the 2 MiB cap let it reach 128 GB).
  const count = 100_000;
  const body = `{"value":"${"x".repeat(count - 12)}"}`;
  const enc = new TextEncoder();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      try {
        await conn.read(new Uint8Array(64 * 1024)); // the request (small)
        await conn.write(enc.encode(
          "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        ));
        for (let i = 0; i < body.length; i += 4_096) {
          const frames = [...body.slice(i, i + 4_096)].map((ch) => `1\r\n${ch}\r\n`).join("");
          await conn.write(enc.encode(frames));
        }
        await conn.write(enc.encode("0\r\n\r\n"));
      } catch {
        // the server went away
      } finally {
        conn.close();
      }
    }
  })();
  try {
    const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`;
    await using server = await startServer({
      config: { webhooksJson: JSON.stringify({ bytes: { url, timeout_ms: 20_000 } }) },
    });
    const rssBefore = Deno.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 10);
    const res = await runTask(server.base, "bytes");
    clearInterval(sampler);
    const grown = Math.max(peak, Deno.memoryUsage().rss) - rssBefore;
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    assert.ok(grown < 300 * 1024 * 1024, `rss grew ${grown} bytes`);
  } finally {
    listener.close();
    await serving;
  }
});
