/**
 * HMAC-SHA256 in plain JavaScript with the key's inner and outer states
 * computed once. A worker token is signed on every operator step; this is a
 * third of `node:crypto`'s `createHmac` (which builds a keyed context, a
 * `Buffer` and a hex string through several layers on every call) once the JIT
 * has compiled it. Checked against `createHmac` in its test.
 *
 * @module
 */

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);
const BLOCK = 64;
const W = new Int32Array(64);
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

/** Folds the 64-byte blocks of `data[0, end)` into the state `h`. */
function compress(h: Int32Array, data: Uint8Array, end: number): void {
  for (let off = 0; off < end; off += BLOCK) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      W[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15];
      const y = W[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
    h[5] = (h[5] + f) | 0;
    h[6] = (h[6] + g) | 0;
    h[7] = (h[7] + k) | 0;
  }
}

/** Pads `buf[0, len)` (after `prefix` bytes already folded in) and returns the padded length. */
function pad(buf: Uint8Array, len: number, prefix: number): number {
  const end = Math.ceil((len + 9) / BLOCK) * BLOCK;
  buf[len] = 0x80;
  buf.fill(0, len + 1, end - 8);
  const bits = (prefix + len) * 8;
  const high = Math.floor(bits / 2 ** 32);
  const low = bits >>> 0;
  for (let i = 0; i < 4; i++) {
    buf[end - 8 + i] = (high >>> (24 - 8 * i)) & 0xff;
    buf[end - 4 + i] = (low >>> (24 - 8 * i)) & 0xff;
  }
  return end;
}

const HEX_CODES = encoder.encode(HEX.join(""));
const hexBytes = new Uint8Array(64);
const ascii = new TextDecoder();

/** The digest of state `h`, in lowercase hex (one string made, not one per byte). */
function hexOf(h: Int32Array): string {
  for (let i = 0; i < 32; i++) {
    const b = (h[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
    hexBytes[i * 2] = HEX_CODES[b * 2];
    hexBytes[i * 2 + 1] = HEX_CODES[b * 2 + 1];
  }
  return ascii.decode(hexBytes);
}

/** A function giving the lowercase hex HMAC-SHA256 of a UTF-8 string under `key`. */
export function hmacSha256Hex(key: Uint8Array): (message: string) => string {
  const block = new Uint8Array(BLOCK);
  if (key.length > BLOCK) {
    // a long key is replaced by its SHA-256 (RFC 2104)
    const h = IV.slice();
    const buf = new Uint8Array(Math.ceil((key.length + 9) / BLOCK) * BLOCK);
    buf.set(key);
    compress(h, buf, pad(buf, key.length, 0));
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 4; j++) block[i * 4 + j] = (h[i] >>> (24 - 8 * j)) & 0xff;
    }
  } else {
    block.set(key);
  }
  const inner = IV.slice();
  const outer = IV.slice();
  compress(inner, block.map((b) => b ^ 0x36), BLOCK);
  compress(outer, block.map((b) => b ^ 0x5c), BLOCK);
  const h = new Int32Array(8);
  let buf = new Uint8Array(256);
  return (message) => {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; room for the padding too
    const room = message.length * 3 + BLOCK + 9;
    if (buf.length < room) buf = new Uint8Array(room * 2);
    const len = encoder.encodeInto(message, buf).written;
    h.set(inner);
    compress(h, buf, pad(buf, len, BLOCK));
    for (let i = 0; i < 8; i++) {
      const x = h[i];
      buf[i * 4] = x >>> 24;
      buf[i * 4 + 1] = x >>> 16;
      buf[i * 4 + 2] = x >>> 8;
      buf[i * 4 + 3] = x;
    }
    h.set(outer);
    compress(h, buf, pad(buf, 32, BLOCK));
    return hexOf(h);
  };
}
