/**
 * The browser operator console (SPEC §8), served at `/console` with no build step.
 *
 * @module
 */
import { Hono } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";

/** Routes of the console page and its assets. */
export function consoleRoutes() {
  return new Hono().get("/console", () => {
    throw new SwitchboardError("not_implemented", "not implemented yet");
  });
}
