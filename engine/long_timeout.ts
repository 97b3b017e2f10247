/**
 * A timer for delays longer than `setTimeout`'s 2^31-1 ms limit, which can stop
 * and start keeping the process alive (`unref` / `ref`) without being re-armed.
 *
 * @module
 */

const MAX_DELAY = 2 ** 31 - 1;

/** A long timer. */
export interface LongTimeout {
  /** Cancels it. */
  clear(): void;
  /** Keeps the process alive while it waits (the default). */
  ref(): void;
  /** Lets the process exit while it waits. */
  unref(): void;
}

/** What `setTimeout` returns here: a number, or a Node-style `Timeout` (Deno 2.9). */
type Timer = ReturnType<typeof setTimeout>;
type Refable = { ref?: () => void; unref?: () => void };

/** Lets the process exit while `timer` waits. */
export function unrefTimer(timer: Timer): void {
  if (typeof timer === "number") Deno.unrefTimer(timer);
  else (timer as Refable).unref?.();
}

function refTimer(timer: Timer): void {
  if (typeof timer === "number") Deno.refTimer(timer);
  else (timer as Refable).ref?.();
}

/** Calls `fn` after `ms` (≤ 0 = next turn). */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  let handle: Timer | undefined;
  let cleared = false;
  let refed = true;
  const arm = (left: number) => {
    handle = setTimeout(() => {
      if (cleared) return;
      if (left > MAX_DELAY) arm(left - MAX_DELAY);
      else fn();
    }, Math.max(0, Math.min(left, MAX_DELAY)));
    if (!refed) unrefTimer(handle);
  };
  arm(ms);
  return {
    clear() {
      cleared = true;
      clearTimeout(handle);
    },
    ref() {
      if (refed) return;
      refed = true;
      if (handle !== undefined) refTimer(handle);
    },
    unref() {
      if (!refed) return;
      refed = false;
      if (handle !== undefined) unrefTimer(handle);
    },
  };
}
