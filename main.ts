/**
 * Entry point: reads the configuration, listens, opens the stores (recovering
 * what they hold; requests wait meanwhile), then says it is ready. SIGINT and
 * SIGTERM drain (boot.ts `drain`).
 *
 * @module
 */
import { type Config, isLoopback, readConfig } from "./config.ts";
import { type App, createApp } from "./app.ts";
import { drain, openDeps, startBackground } from "./boot.ts";
import { monitorEventLoopLag } from "./observe/process_metrics.ts";
import { warmUp } from "./warmup.ts";
import { flushLog } from "./observe/log.ts";

/** Says why the server cannot start, in one line, and exits 1. */
function cannotStart(err: unknown): never {
  flushLog(); // log lines first, then the reason
  console.error(`switchboard: cannot start: ${err instanceof Error ? err.message : err}`);
  Deno.exit(1);
}

let config: Config;
try {
  config = readConfig();
  if (config.allowSubprocess && Deno.permissions.querySync({ name: "run" }).state !== "granted") {
    throw new Error(
      "SWITCHBOARD_ALLOW_SUBPROCESS=1 needs the run permission: start with `deno task start:subprocess`",
    );
  }
} catch (err) {
  cannotStart(err);
}
const shutdown = new AbortController();
const ready = Promise.withResolvers<App>();
/** The app once the stores are open; requests before then wait for it. */
let app: App | undefined = undefined;
let server: Deno.HttpServer<Deno.NetAddr>;
try {
  server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen() {}, // announced below, once the stores are recovered
  }, (req, info) => app ? app.fetch(req, info) : ready.promise.then((a) => a.fetch(req, info)));
} catch (err) {
  cannotStart(err);
}
// the host as configured (SPEC §1: `http://HOST:PORT`, so `localhost` stays `localhost`)
// and the port listened on (PORT=0: the one the OS picked)
const { port } = server.addr;
// doctor's `bind`: the address the socket is bound to (reference/http.md §8.11)
config.bound = server.addr.hostname.includes(":")
  ? `[${server.addr.hostname}]:${port}`
  : `${server.addr.hostname}:${port}`;
const host = config.host.includes(":") && !config.host.startsWith("[")
  ? `[${config.host}]`
  : config.host;
if (config.port === 0 && !Deno.env.get("SWITCHBOARD_PUBLIC_URL")?.trim()) {
  config.publicUrl = `http://${host}:${port}`; // PORT=0: the port the OS picked
}

const deps = await openDeps(config).catch(cannotStart);
if (config.warmupRounds > 0) {
  // requests wait meanwhile, as during recovery
  const { rounds, ms, error } = await warmUp(config, config.warmupRounds);
  if (error) deps.log.warn("warm-up stopped", { rounds, ms, error });
  else deps.log.info("warm-up done", { rounds, ms });
}
app = createApp(deps);
ready.resolve(app);
if (config.apiToken === undefined && !isLoopback(config.host)) {
  deps.log.warn(
    "admin routes are open: SWITCHBOARD_API_TOKEN is not set and HOST is not loopback",
    { host: config.host },
  );
}
if (config.secretHex !== undefined && config.secretHex.length < 32) {
  deps.log.warn("SWITCHBOARD_SECRET is shorter than 16 bytes: capability tokens are weakly keyed");
}
const background = startBackground(deps);
monitorEventLoopLag((seconds) => deps.metrics.observeEventLoopLag(seconds), {
  signal: shutdown.signal,
});
console.log(`switchboard listening on http://${host}:${port}`);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  deps.log.info("shutting down", { signal });
  try {
    shutdown.abort(); // the event-loop lag monitor
    await drain(deps, () => server.shutdown(), background);
  } catch (err) {
    deps.log.error("shutdown failed", { error: String(err) });
  }
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
