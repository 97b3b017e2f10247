/**
 * The one zod import of protocol/, by its full `npm:` specifier, so protocol/
 * and client/ load outside this repo's import map (`deno run --no-config` of a
 * script that imports client/mod.ts by path). The version is the one pinned in
 * deno.json's `imports` (a test keeps them equal), so the server and this
 * module share one zod.
 *
 * @module
 */
export { z } from "npm:zod@4.6.7";
