/**
 * Boot and background work: open the stores, restore seats, and run the idle
 * sweep. Kept apart from main.ts so tests can boot a server the same way.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { type AppDeps, createDeps } from "./deps.ts";
import { restoreSeats, sweepIdleSeats } from "./session/seats.ts";

/** How often idle seats are swept. */
export const SWEEP_EVERY_MS = 300_000;

/** The deps of a booted server, with a way to close what it opened. */
export interface OpenDeps extends AppDeps {
  close(): Promise<void>;
}

/** Opens the stores named by `config` and restores what they hold. */
export async function openDeps(config: Config): Promise<OpenDeps> {
  const deps = await createDeps({ config });
  await restoreSeats(deps);
  return { ...deps, close: () => Promise.resolve() };
}

/** Starts the periodic idle sweep; `stop()` ends it. */
export function startBackground(deps: AppDeps): { stop(): Promise<void> } {
  const idleMs = deps.config.idleSecs * 1000;
  const timer = setInterval(() => {
    sweepIdleSeats(deps, idleMs).catch((err) =>
      deps.log.error("idle sweep failed", { error: String(err) })
    );
  }, SWEEP_EVERY_MS);
  return {
    stop() {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}
