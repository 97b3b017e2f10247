/**
 * Reconnect delays: exponential growth with a cap and jitter.
 *
 * @module
 */

/** How reconnect delays grow. */
export interface BackoffOptions {
  /** Delay before the first retry (ms). Default 250. */
  initialMs?: number;
  /** Largest delay (ms). Default 30 000. */
  maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /**
   * Share of each delay that is random, 0–1. Default 0.5: a delay is drawn from
   * `[d·(1−jitter), d]`, so many clients that dropped together do not return together.
   */
  jitter?: number;
  /** Random source in [0, 1) (tests may fix it). Default `Math.random`. */
  random?: () => number;
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
): number {
  const {
    initialMs = 250,
    maxMs = 30_000,
    factor = 2,
    jitter = 0.5,
    random = Math.random,
  } = options;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  const spread = Math.min(1, Math.max(0, jitter));
  return Math.round(base * (1 - spread * random()));
}
