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
}

function toRegex(path: string): RegExp {
  const body = path.split("/").map((seg) => {
    if (seg.startsWith(":")) return "[^/]+";
    if (seg === "*") return ".*";
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return new RegExp(`^${body}$`);
}

/** Builds a function that names the methods a path allows (empty when unknown). */
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
    return [...byPath].map(([path, methods]) => ({ regex: toRegex(path), methods }));
  };
  return (path) => {
    patterns ??= build();
    const methods = new Set<string>();
    for (const p of patterns) if (p.regex.test(path)) p.methods.forEach((m) => methods.add(m));
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
