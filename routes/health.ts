/**
 * `GET /v1/healthz`.
 *
 * @module
 */
import { Hono } from "hono";
import { doc, text } from "./_doc.ts";

/** The health route: always `ok`. */
export function healthRoutes() {
  return new Hono().get(
    "/v1/healthz",
    doc({ tags: ["operability"], summary: "Liveness", responses: { 200: text("`ok`") } }),
    // the 0.1.2 content type as written there (Hono's c.text writes `text/plain;charset=UTF-8`)
    (c) => c.body("ok", 200, { "content-type": "text/plain; charset=utf-8" }),
  );
}
