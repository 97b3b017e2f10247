/**
 * The server's version, from the `version` field of the root deno.json (the
 * client package in client/deno.json carries the same one).
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };

/** The Switchboard version, for example `0.2.0`. */
export const SWITCHBOARD_VERSION: string = config.version;
