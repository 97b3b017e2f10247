/**
 * HEAD answers (RFC 9110 §9.3.2). Hono answers HEAD through the GET route and
 * drops the body; here the body is measured first, so `content-length` is the
 * GET's (it read 0), and an event stream is cancelled at once instead of read,
 * so a HEAD never holds a stream slot or a run watcher (each one did, until its
 * run ended: enough of them refused every event stream with 503).
 *
 * @module
 */
import type { Context, MiddlewareHandler, Next } from "hono";

/** The middleware that finishes HEAD answers (any other request passes straight through). */
export const headAnswers: MiddlewareHandler = function headAnswers(c, next) {
  return c.req.method === "HEAD" ? finishHead(c, next) : next();
};

async function finishHead(c: Context, next: Next): Promise<void> {
  await next();
  const res = c.res;
  if (res.body === null) return;
  const headers = new Headers(res.headers);
  if ((headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    await res.body.cancel(); // the stream's own cancel gives its slot back
  } else {
    headers.set("content-length", String((await res.arrayBuffer()).byteLength));
  }
  c.res = new Response(null, { status: res.status, headers });
}
