/**
 * The token authority's decode cache. Encoded string → its decoded token, frozen;
 * the tokens of this cache whose MAC has checked out are marked, so a token seen
 * again skips the decode and the HMAC. A forged token is another string, another
 * object, and is checked (and refused) every time.
 *
 * @module
 */
import { type CapToken, decodeToken } from "./captoken.ts";

/** How many encoded tokens the authority remembers decoded (oldest dropped first). */
export const TOKEN_CACHE_SIZE = 4096;

/** A decoded token that nobody can change afterwards (its MAC result stays true). */
export function frozenToken(token: CapToken): CapToken {
  Object.freeze(token.scopes);
  return Object.freeze(token);
}

/** The cache of {@link createTokenCache}. */
export interface TokenCache {
  /** Decodes an encoded token, frozen (throws `TokenDecodeError`). Remembered by string. */
  decode(encoded: string): CapToken;
  /** Remembers a frozen token signed here, under its encoding, as verified. */
  addSigned(encoded: string, token: CapToken): void;
  /** True when the MAC of this token object has checked out. */
  isVerified(token: CapToken): boolean;
  /** Marks a token's MAC as checked, when the token is frozen (else it could change). */
  markVerified(token: CapToken): void;
}

/** An empty decode cache of at most {@link TOKEN_CACHE_SIZE} strings. */
export function createTokenCache(): TokenCache {
  const decoded = new Map<string, CapToken>();
  const verified = new WeakSet<CapToken>();
  const cache = (encoded: string, token: CapToken): void => {
    // Clearing when full keeps inserts O(1); deleting the first key of a Map that
    // has seen many deletes walks its holes.
    if (decoded.size >= TOKEN_CACHE_SIZE) decoded.clear();
    decoded.set(encoded, token);
  };
  return {
    decode(encoded) {
      const known = decoded.get(encoded);
      if (known) return known;
      const token = frozenToken(decodeToken(encoded));
      cache(encoded, token);
      return token;
    },
    addSigned(encoded, token) {
      verified.add(token);
      cache(encoded, token);
    },
    isVerified: (token) => verified.has(token),
    markVerified(token) {
      if (Object.isFrozen(token) && Object.isFrozen(token.scopes)) verified.add(token);
    },
  };
}
