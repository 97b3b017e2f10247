/**
 * The `Bearer` scheme of an `Authorization` header. Auth schemes are
 * case-insensitive (RFC 9110 §11.1), so `bearer x` and `BEARER x` count too.
 * Every reader of the header (admin guard, seat routes and socket, worker and
 * data routes) matches the scheme through here.
 *
 * @module
 */

/** The scheme word alone, in any case (`Bearer`, `bearer`, …). */
const SCHEME_ONLY = /^bearer$/i;
/** The scheme at the start, in any case. */
const SCHEME_START = /^bearer/i;
/** The scheme and one space, in any case. */
const SCHEME_SPACE = /^bearer /i;

/** True when `header` starts with the scheme word (`Bearer…`, any case). */
export function startsWithBearer(header: string): boolean {
  return SCHEME_START.test(header);
}

/** True when `header` is the scheme word and nothing else (after trimming). */
export function isBareBearer(header: string): boolean {
  return SCHEME_ONLY.test(header.trim());
}

/** True when `header` starts with the scheme and a space (`Bearer <x>`, any case). */
export function hasBearerScheme(header: string): boolean {
  return SCHEME_SPACE.test(header);
}

/** The trimmed token of `Bearer <token>` (scheme in any case), or null when absent or empty. */
export function bearerOf(header: string | null | undefined): string | null {
  if (!header || !hasBearerScheme(header)) return null;
  const token = header.slice(7).trim();
  return token === "" ? null : token;
}
