/**
 * A timer for delays longer than `setTimeout`'s 2^31-1 ms limit.
 *
 * @module
 */

const MAX_DELAY = 2 ** 31 - 1;

/** Calls `fn` after `ms` (≤ 0 = next turn); `clear()` cancels it. */
export function setLongTimeout(fn: () => void, ms: number): { clear(): void } {
  let handle: ReturnType<typeof setTimeout> | undefined;
  let cleared = false;
  const arm = (left: number) => {
    handle = setTimeout(() => {
      if (cleared) return;
      if (left > MAX_DELAY) arm(left - MAX_DELAY);
      else fn();
    }, Math.max(0, Math.min(left, MAX_DELAY)));
  };
  arm(ms);
  return {
    clear() {
      cleared = true;
      clearTimeout(handle);
    },
  };
}
