/**
 * Small crypto helpers: random ids, SHA-256 and constant-time comparison.
 *
 * @module
 */

const encoder = new TextEncoder();

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * Random bytes drawn from the system generator a pool at a time, as hex: a run
 * takes several ids and nonces, and one `getRandomValues` call (or building a
 * string two characters at a time) costs more than the bytes it fills. Each
 * byte is handed out once.
 */
const POOL_BYTES = 2048;
const pool = new Uint8Array(POOL_BYTES);
let poolHex = "";
let used = POOL_BYTES;

/** Lowercase hex of `bytes` random bytes. */
export function randomHex(bytes: number): string {
  if (bytes > POOL_BYTES) return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
  if (used + bytes > POOL_BYTES) {
    poolHex = toHex(crypto.getRandomValues(pool));
    used = 0;
  }
  const at = used;
  used += bytes;
  return poolHex.slice(at * 2, used * 2);
}

const HEX_CODES = new TextEncoder().encode(HEX.join(""));
const ascii = new TextDecoder();

/** Lowercase hex of a byte array (one string made, not one per byte). */
export function toHex(bytes: Uint8Array): string {
  if (bytes.length <= 8) {
    let out = "";
    for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
    return out;
  }
  const codes = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    codes[i * 2] = HEX_CODES[bytes[i] * 2];
    codes[i * 2 + 1] = HEX_CODES[bytes[i] * 2 + 1];
  }
  return ascii.decode(codes);
}

/** Bytes of a hex string, or null when it is not even-length hex. */
export function fromHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Lowercase hex SHA-256 of a UTF-8 string. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

/** Compares two strings in time that depends only on their lengths. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
