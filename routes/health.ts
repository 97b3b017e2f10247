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
    (c) => c.text("ok"),
  );
}
