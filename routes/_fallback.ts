/**
 * Unknown paths (404) and known paths with the wrong method (405 with `Allow`).
 *
 * @module
 */
import type { Hono } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";

interface RoutePattern {
  regex: RegExp;
  methods: Set<string>;
  /** No `:param` or `*` segment. */
  static: boolean;
}

function toRegex(path: string): RegExp {
  const body = path.split("/").map((seg) => {
    if (seg.startsWith(":")) return "[^/]+";
    if (seg === "*") return ".*";
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return new RegExp(`^${body}$`);
}

/**
 * Builds a function that names the methods a path allows (empty when unknown).
 * When a route's path is the request path itself, only such routes count.
 */
export function allowedMethodsOf(app: Hono): (path: string) => string[] {
  let patterns: RoutePattern[] | undefined;
  const build = () => {
    const byPath = new Map<string, Set<string>>();
    for (const route of app.routes) {
      if (route.method === "ALL" || route.path.includes("*")) continue;
      const set = byPath.get(route.path) ?? new Set();
      set.add(route.method);
      if (route.method === "GET") set.add("HEAD");
      byPath.set(route.path, set);
    }
    return [...byPath].map(([path, methods]) => ({
      regex: toRegex(path),
      methods,
      static: !/(^|\/)[:*]/.test(path),
    }));
  };
  return (path) => {
    patterns ??= build();
    const matching = patterns.filter((p) => p.regex.test(path));
    // a static path beats a parameter (reference/http.md §2.1): /v1/data/emit is POST only
    const statics = matching.filter((p) => p.static);
    const methods = new Set<string>();
    for (const p of statics.length > 0 ? statics : matching) {
      p.methods.forEach((m) => methods.add(m));
    }
    return [...methods].sort();
  };
}

/** The error for a request no route answered: 405 when the path is known, else 404. */
export function unmatched(allowed: string[], method: string, path: string): SwitchboardError {
  if (allowed.length > 0) {
    return new SwitchboardError("method_not_allowed", `method ${method} not allowed on ${path}`, {
      headers: { Allow: allowed.join(", ") },
    });
  }
  return new SwitchboardError("not_found", `no route for ${method} ${path}`);
}
