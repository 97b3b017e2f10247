/**
 * Entry point: reads the configuration, opens the stores and serves.
 *
 * @module
 */
import { isLoopback, readConfig } from "./config.ts";
import { createApp } from "./app.ts";
import { openDeps, startBackground } from "./boot.ts";
import { CLOSE } from "./protocol/frames.ts";

const config = readConfig();
const deps = await openDeps(config);
const app = createApp(deps);
if (config.apiToken === undefined && !isLoopback(config.host)) {
  deps.log.warn(
    "admin routes are open: SWITCHBOARD_API_TOKEN is not set and HOST is not loopback",
    {
      host: config.host,
    },
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
  shutdown.abort();
  for (const session of deps.sessions.values()) {
    session.closeSocket(CLOSE.goingAway, "server shutdown");
  }
  await background.stop();
  await server.finished;
  await deps.close();
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
