/**
 * Entry point: reads the configuration, opens the stores (recovering what they
 * hold) and serves. SIGINT/SIGTERM drain (boot.ts `drain`).
 *
 * @module
 */
import { isLoopback, readConfig } from "./config.ts";
import { createApp } from "./app.ts";
import { drain, openDeps, startBackground } from "./boot.ts";

const config = readConfig();
const deps = await openDeps(config).catch((err) => {
  console.error(`switchboard: cannot start: ${err instanceof Error ? err.message : err}`);
  Deno.exit(1);
});
const app = createApp(deps);
if (config.apiToken === undefined && !isLoopback(config.host)) {
  deps.log.warn(
    "admin routes are open: SWITCHBOARD_API_TOKEN is not set and HOST is not loopback",
    { host: config.host },
  );
}

const shutdown = new AbortController();
const server = Deno.serve({
  hostname: config.host,
  port: config.port,
  signal: shutdown.signal,
  onListen({ hostname, port }) {
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    console.log(`switchboard listening on http://${host}:${port}`);
  },
}, app.fetch);
const background = startBackground(deps);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  deps.log.info("shutting down", { signal });
  try {
    await drain(deps, server, () => shutdown.abort(), background);
  } catch (err) {
    deps.log.error("shutdown failed", { error: String(err) });
  }
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
