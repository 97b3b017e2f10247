/**
 * Run deadlines on one timer: a min-heap of (time, callback) and a single
 * timer armed for the earliest, instead of a timer per run (a run parked on an
 * operator for hours holds only its heap slot).
 *
 * @module
 */
import { type LongTimeout, setLongTimeout } from "./long_timeout.ts";

/** A scheduled deadline; `clear()` cancels it. */
export interface Deadline {
  clear(): void;
}

interface Slot {
  at: number;
  fire: () => void;
  /** Position in the heap; -1 once it left it. */
  index: number;
}

/** Creates a deadline scheduler on `now()`. */
export function createDeadlines(now: () => number): (at: number, fire: () => void) => Deadline {
  const heap: Slot[] = [];
  let armed: { at: number; timer: LongTimeout } | undefined;

  const place = (slot: Slot, i: number) => {
    heap[i] = slot;
    slot.index = i;
  };
  const up = (i: number) => {
    const slot = heap[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p].at <= slot.at) break;
      place(heap[p], i);
      i = p;
    }
    place(slot, i);
  };
  const down = (i: number) => {
    const slot = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = l;
      if (l >= heap.length) break;
      if (r < heap.length && heap[r].at < heap[l].at) m = r;
      if (heap[m].at >= slot.at) break;
      place(heap[m], i);
      i = m;
    }
    place(slot, i);
  };
  const remove = (slot: Slot) => {
    const i = slot.index;
    if (i < 0) return;
    slot.index = -1;
    const last = heap.pop()!;
    if (last === slot) return;
    place(last, i);
    up(i);
    down(last.index);
  };
  // The timer is not moved when the earliest deadline goes (a run ended) while
  // others wait: it fires, finds nothing due and is armed for the new earliest.
  // Once no deadline is left it stays armed but stops keeping the process alive,
  // so runs one after another (each sooner than the next) reuse it: arming and
  // clearing a timer per run cost more than the rest of its deadline.
  const arm = () => {
    const first = heap[0];
    if (!first) {
      armed?.timer.unref();
      return;
    }
    if (armed && armed.at <= first.at) {
      armed.timer.ref();
      return;
    }
    armed?.timer.clear();
    armed = { at: first.at, timer: setLongTimeout(fireDue, first.at - now()) };
  };
  function fireDue() {
    armed = undefined;
    const t = now();
    while (heap.length > 0 && heap[0].at <= t) {
      const slot = heap[0];
      remove(slot);
      slot.fire();
    }
    arm();
  }

  return function schedule(at, fire) {
    const slot: Slot = { at, fire, index: heap.length };
    heap.push(slot);
    up(slot.index);
    arm();
    return {
      clear() {
        remove(slot);
        if (heap.length === 0) arm();
      },
    };
  };
}
