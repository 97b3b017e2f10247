/**
 * ISO 8601 times (`Date#toISOString`) without a `Date` a call: the text up to the
 * second is kept and the milliseconds appended. Logs and request events stamp
 * several times a round trip, mostly within one second.
 *
 * @module
 */

const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
let second = Number.NaN;
let prefix = "";

/** `new Date(ms).toISOString()` (throws the same RangeError for an invalid time). */
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) return new Date(ms).toISOString();
  const s = Math.floor(ms / 1000);
  if (s !== second) {
    const text = new Date(ms).toISOString();
    if (text.length !== 24) return text; // a year past 9999: not cached
    prefix = text.slice(0, 20);
    second = s;
  }
  return `${prefix}${MILLIS[ms - s * 1000]}Z`;
}
