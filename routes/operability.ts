/**
 * Operability routes: doctor, metrics, the OpenAPI document and its docs page
 * (SPEC §7). Mounted last, because the OpenAPI document describes the whole app.
 *
 * @module
 */
import type { Hono } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";
import type { AppDeps } from "../deps.ts";

/** Mounts the operability routes on `app`. */
export function mountOperability(app: Hono, _deps: AppDeps): void {
  const notYet = () => {
    throw new SwitchboardError("not_implemented", "not implemented yet");
  };
  app.get("/v1/doctor", notYet);
  app.get("/v1/metrics", notYet);
  app.get("/v1/openapi.json", notYet);
  app.get("/docs", notYet);
}
