/**
 * The Host check: without `SWITCHBOARD_API_TOKEN` the admin routes are open to
 * whoever reaches the server, so a web page on another site could reach them
 * through DNS rebinding (its own host name, resolved to this server). Requests
 * whose `Host` is not a loopback name, the listen address, the host of
 * `SWITCHBOARD_PUBLIC_URL` or one of `SWITCHBOARD_ALLOWED_HOSTS` get 403 JSON.
 * Ports are ignored. With an API token set, the token guards the routes and any
 * Host passes.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";

/** What the check reads (at each request: the public URL may be set after boot). */
export interface HostCheckConfig {
  host: string;
  publicUrl: string;
  apiToken?: string;
  allowedHosts?: readonly string[];
}

/** The host name of a `Host` header or URL authority, lowercase, without port or brackets. */
export function hostName(authority: string): string | undefined {
  try {
    return new URL(`http://${authority}`).hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "")
      .toLowerCase();
  } catch {
    return undefined;
  }
}

function isLoopbackName(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Whether requests naming `host` may pass. */
export function hostAllowed(host: string, config: HostCheckConfig): boolean {
  if (isLoopbackName(host)) return true;
  if (host === hostName(config.host)) return true;
  try {
    if (host === new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, "").toLowerCase()) {
      return true;
    }
  } catch {
    // a bad public URL allows nothing extra
  }
  return (config.allowedHosts ?? []).some((h) => hostName(h) === host);
}

/** How many `Host` values the middleware remembers a verdict for. */
const VERDICTS_MAX = 1024;

/**
 * The middleware; `config` is read at each request. Verdicts are remembered per
 * `Host` value (bounded) until the public URL changes, so the hot path parses no URL.
 */
export function hostCheck(config: HostCheckConfig): MiddlewareHandler {
  const verdicts = new Map<string, boolean>();
  let verdictsFor = config.publicUrl;
  const allowed = (header: string) => {
    if (verdictsFor !== config.publicUrl) {
      verdicts.clear();
      verdictsFor = config.publicUrl;
    }
    let verdict = verdicts.get(header);
    if (verdict === undefined) {
      const host = hostName(header);
      verdict = host !== undefined && hostAllowed(host, config);
      if (verdicts.size >= VERDICTS_MAX) verdicts.clear();
      verdicts.set(header, verdict);
    }
    return verdict;
  };
  return async function hostCheck(c, next) {
    const header = c.req.header("host");
    if (config.apiToken === undefined && header !== undefined) {
      if (!allowed(header)) {
        throw new SwitchboardError(
          "forbidden",
          `host not allowed: ${JSON.stringify(header.slice(0, 100))}; ` +
            "add it to SWITCHBOARD_ALLOWED_HOSTS, or set SWITCHBOARD_API_TOKEN",
        );
      }
    }
    await next();
  };
}
