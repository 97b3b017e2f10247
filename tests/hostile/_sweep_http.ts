/**
 * The sweep's HTTP attacks: every route of `GET /v1/openapi.json` with hostile
 * bodies, headers, query strings and path segments.
 *
 * @module
 */
import { type Attack, hit, type Rng, type SweepContext } from "./_sweep.ts";
import { hostileBody, hostileHeaders, QUERIES, type Route, SEGMENTS } from "./_sweep_inputs.ts";

const routeCache = new Map<string, Promise<Route[]>>();

/** The routes of the server's OpenAPI document (fetched once per server). */
function routesOf(base: string): Promise<Route[]> {
  let routes = routeCache.get(base);
  if (!routes) {
    routes = (async () => {
      const doc = await (await fetch(`${base}/v1/openapi.json`)).json();
      const schemas = doc.components?.schemas ?? {};
      const out: Route[] = [];
      for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
        for (const [method, op] of Object.entries(ops as Record<string, Record<string, unknown>>)) {
          const content = (op.requestBody as { content?: Record<string, Record<string, unknown>> })
            ?.content ?? {};
          const examples: unknown[] = [];
          let fields: string[] = [];
          for (const c of Object.values(content)) {
            for (
              const e of Object.values((c.examples ?? {}) as Record<string, { value: unknown }>)
            ) {
              examples.push(e.value);
            }
            const ref = (c.schema as { $ref?: string })?.$ref?.split("/").at(-1);
            fields = Object.keys(schemas[ref ?? ""]?.properties ?? {});
          }
          out.push({
            method: method.toUpperCase(),
            path,
            bodyTypes: Object.keys(content),
            examples,
            fields,
          });
        }
      }
      return out;
    })();
    routeCache.set(base, routes);
  }
  return routes;
}

function pathOf(r: Rng, route: Route): string {
  return route.path.replace(/\{[^}]+\}/g, () => r.pick(SEGMENTS));
}

/** Streams and sockets answer only when their client leaves: bound them short. */
const isStream = (path: string) => /\/events$|\/feed$|\/ws$/.test(path);

async function oneRequest(ctx: SweepContext, route: Route, withBody: boolean) {
  const r = ctx.rng;
  const path = pathOf(r, route);
  const query = r.chance(0.3) ? r.pick(QUERIES) : "";
  const method = r.chance(0.1)
    ? r.pick(["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "FOO"])
    : route.method;
  const headers = new Headers();
  for (const [k, v] of hostileHeaders(r)) {
    try {
      headers.append(k, v);
    } catch {
      // a value fetch itself refuses
    }
  }
  let body: BodyInit | undefined;
  let label = `${method} ${path.slice(0, 120)}${query.slice(0, 60)} [${
    [...headers.keys()].join(",")
  }]`;
  if (withBody && method !== "GET" && method !== "HEAD") {
    const made = hostileBody(r, route);
    body = made.body;
    if (made.type !== null) headers.set("content-type", made.type);
    const size = typeof made.body === "string"
      ? made.body.length
      : (made.body as Uint8Array).length;
    const start = typeof made.body === "string" ? made.body.slice(0, 60) : "<bytes>";
    label += ` ${made.type} ${size}B ${start}`;
  }
  const stream = isStream(route.path);
  await hit(ctx, label, `${ctx.base}${path}${query}`, { method, headers, body }, {
    ms: stream ? 5_000 : 15_000,
    stream,
    mayDrop: stream || headers.has("x-big") || headers.get("authorization")?.length! > 8_000 ||
      path.length > 60_000 || query.length > 60_000,
  }).catch(() => {});
}

/** Deno answers a bad request line itself; this sends raw bytes to see the server stay up. */
async function rawRequest(ctx: SweepContext) {
  const r = ctx.rng;
  const port = Number(new URL(ctx.base).port);
  const head = r.pick([
    "GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n",
    "GET /v1/operators HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    "GET /v1/operators HTTP/1.1\r\nHost: 127.0.0.1:1@evil.example\r\n\r\n",
    "GET /v1/operators HTTP/1.1\r\nHost: \r\n\r\n",
    "GET /v1/operators HTTP/1.1\r\n\r\n",
    "GET /v1/operators HTTP/1.0\r\n\r\n",
    "GET /v1/../v1/operators HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "GET http://evil.example/v1/operators HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "GET /v1/healthz\0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "POST /v1/operators HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\n{}",
    "POST /v1/operators HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}",
    "POST /v1/operators HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}",
    "POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n{}",
    "POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}",
    "GARBAGE\r\n\r\n",
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
  ]);
  ctx.sent();
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(head));
    const buf = new Uint8Array(65_536);
    const timer = setTimeout(() => conn?.close(), 3_000);
    let text = "";
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
        if (/\r\n\r\n/.test(text) && /content-length: (\d+)/i.test(text)) {
          const [h, b] = text.split("\r\n\r\n", 2);
          if (new TextEncoder().encode(b).length >= Number(/content-length: (\d+)/i.exec(h)![1])) {
            break;
          }
        }
      }
    } catch {
      // closed by our timer or the server
    } finally {
      clearTimeout(timer);
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    if (status >= 500) {
      ctx.finding(
        `status ${status}`,
        `raw ${JSON.stringify(head.slice(0, 80))}`,
        text.slice(0, 300),
      );
    }
  } catch {
    // refused or reset: the liveness check catches a dead server
  } finally {
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

export const httpAttacks: Record<string, Attack> = {
  async "http body"(ctx) {
    const routes = (await routesOf(ctx.base)).filter((r) => r.bodyTypes.length > 0);
    await oneRequest(ctx, ctx.rng.pick(routes), true);
  },
  async "http any route"(ctx) {
    const routes = await routesOf(ctx.base);
    await oneRequest(ctx, ctx.rng.pick(routes), ctx.rng.chance(0.5));
  },
  "http raw head": rawRequest,
};
