/**
 * The one zod import of protocol/, by its full `npm:` specifier, so protocol/
 * and client/ load outside this repo's import map (`deno run --no-config` of a
 * script that imports client/mod.ts by path). The version is the one pinned in
 * deno.json's `imports` (a test keeps them equal), so the server and this
 * module share one zod.
 *
 * @module
 */
import { z } from "npm:zod@4.6.7";
export { z };

/**
 * An optional field that may also be `null`, read as absent: 0.1.2 reads such
 * fields as Rust `Option`s, so a client that writes `null` for "none" is served.
 */
export function absent<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((value) => value ?? undefined).optional();
}
