/**
 * The browser operator console (SPEC §8), served at `/console` with no build step.
 *
 * The page and its assets are files in `console/`, read relative to this module
 * (so a deployed server finds them too; with `deno compile`, pass
 * `--include console`), once, and kept in memory. Every answer
 * carries a strict Content-Security-Policy: the page loads only its own files and
 * talks only to its own origin (HTTP, SSE and the operator WebSocket).
 *
 * @module
 */
import { Hono } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";

/** Content types by file extension. Only these extensions are served. */
export const CONSOLE_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** The Content-Security-Policy of the console and its assets. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Asset names: one flat folder, lowercase, no dots but the extension's, at most 64 characters. */
const ASSET_NAME = /^(?=.{1,64}$)[a-z0-9_-]+\.([a-z]+)$/;

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

/** Options of {@link consoleRoutes}. */
export interface ConsoleRoutesOptions {
  /** The folder the files are read from (a `file:` or `https:` URL ending in `/`). */
  root?: URL;
}

/** Routes of the console page and its assets. */
export function consoleRoutes(options: ConsoleRoutesOptions = {}) {
  const root = options.root ?? new URL("../console/", import.meta.url);
  const cache = new Map<string, Promise<Asset | null>>();

  function load(name: string): Promise<Asset | null> {
    let asset = cache.get(name);
    if (!asset) {
      asset = readAsset(new URL(name, root), name);
      // a failed read is retried next time, and a missing file is not remembered
      // (names are chosen by clients: the cache would grow with every guess)
      asset.then((a) => a ?? cache.delete(name), () => cache.delete(name));
      cache.set(name, asset);
    }
    return asset;
  }

  async function serve(name: string, ifNoneMatch: string | undefined): Promise<Response> {
    const asset = ASSET_NAME.test(name) ? await load(name) : null;
    if (!asset) throw new SwitchboardError("not_found", `no such console file: ${name}`);
    const headers = {
      "content-type": asset.type,
      "cache-control": "no-cache",
      etag: asset.etag,
      "content-security-policy": CONSOLE_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    };
    if (ifNoneMatch === asset.etag) return new Response(null, { status: 304, headers });
    return new Response(asset.body, {
      status: 200,
      headers: { ...headers, "content-length": String(asset.body.byteLength) },
    });
  }

  return new Hono()
    .get("/console", (c) => serve("index.html", c.req.header("if-none-match")))
    .get("/console/", (c) => c.redirect("/console", 301))
    .get("/console/:file", (c) => serve(c.req.param("file"), c.req.header("if-none-match")));
}

async function readAsset(url: URL, name: string): Promise<Asset | null> {
  const type = CONSOLE_TYPES[ASSET_NAME.exec(name)?.[1] ?? ""];
  if (type === undefined) return null;
  let body: Uint8Array<ArrayBuffer>;
  if (url.protocol === "file:") {
    try {
      body = await Deno.readFile(url);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  } else {
    // Run from a remote module URL: the files sit beside it on the same host.
    const res = await fetch(url);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) throw new Error(`console: ${url} answered ${res.status}`);
    body = new Uint8Array(await res.arrayBuffer());
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const hex = Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
  return { body, type, etag: `"${hex}"` };
}
