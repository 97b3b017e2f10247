/**
 * Guards of webhook calls: which targets may be called, and how much of a reply
 * is read.
 *
 * @module
 */

/** The default cap on a webhook reply body (`SWITCHBOARD_WEBHOOK_MAX_BYTES`). */
export const WEBHOOK_MAX_BYTES = 2 * 1024 * 1024;

function ipv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

/** The 8 16-bit groups of an IPv6 address, or undefined. */
function ipv6(text: string): number[] | undefined {
  let t = text.replace(/^\[|\]$/g, "").toLowerCase();
  const zone = t.indexOf("%");
  if (zone >= 0) t = t.slice(0, zone);
  if (!t.includes(":")) return undefined;
  // an embedded IPv4 tail (::ffff:10.0.0.1)
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (tail) {
    const v4 = ipv4(tail[1]);
    if (!v4) return undefined;
    t = t.slice(0, -tail[1].length) + ((v4[0] << 8) | v4[1]).toString(16) + ":" +
      ((v4[2] << 8) | v4[3]).toString(16);
  }
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const out = groups.map((g) => /^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN);
  return out.some(Number.isNaN) ? undefined : out;
}

/**
 * Whether an IP address is private: 10/8, 172.16/12, 192.168/16, 100.64/10
 * (carrier-grade NAT), 169.254/16 (link-local), 192.0.0/24, 198.18/15, fc00::/7,
 * fe80::/10 and fec0::/10. An IPv6 address that carries an IPv4 one (mapped
 * `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and
 * `64:ff9b:1::/48`, 6to4 `2002::/16`, Teredo `2001::/32`) is judged by that
 * address. Loopback and public addresses are not private. Undefined for text
 * that is not an IP address.
 */
export function isPrivateAddress(address: string): boolean | undefined {
  const v4 = ipv4(address);
  if (v4) return isPrivateV4(v4);
  const v6 = ipv6(address);
  if (!v6) return undefined;
  const inner = embeddedV4(v6);
  if (inner) return isPrivateV4(inner);
  return (v6[0] & 0xfe00) === 0xfc00 || (v6[0] & 0xffc0) === 0xfe80 ||
    (v6[0] & 0xffc0) === 0xfec0;
}

/** The IPv4 address an IPv6 one carries (see {@link isPrivateAddress}), or undefined. */
function embeddedV4(g: number[]): number[] | undefined {
  const octets = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // mapped ::ffff:0:0/96 and compatible ::/96 (but :: and ::1)
  if (zeros(0, 5) && (g[5] === 0xffff || (g[5] === 0 && (g[6] !== 0 || g[7] > 1)))) {
    return octets(g[6], g[7]);
  }
  if (g[0] === 0x64 && g[1] === 0xff9b && (zeros(2, 6) || g[2] === 1)) return octets(g[6], g[7]);
  if (g[0] === 0x2002) return octets(g[1], g[2]);
  // Teredo: the client's address, each bit flipped
  if (g[0] === 0x2001 && g[1] === 0) return octets(g[6] ^ 0xffff, g[7] ^ 0xffff);
  return undefined;
}

function isPrivateV4([a, b, c]: number[]): boolean {
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
    (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127) ||
    (a === 192 && b === 0 && c === 0) || (a === 198 && (b === 18 || b === 19));
}

/** Resolves a host name to its addresses (A and AAAA); injectable for tests. */
export type Resolve = (host: string) => Promise<string[]>;

async function resolveBoth(host: string): Promise<string[]> {
  const found = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  return found.flatMap((r) => r.status === "fulfilled" ? r.value : []);
}

/**
 * Why a webhook may not call `url`, or undefined when it may: a private or
 * link-local address, literal or resolved, is refused unless `allowPrivate`.
 * Loopback is always allowed (webhook workers often run beside the server).
 */
export async function refuseTarget(
  url: string,
  allowPrivate: boolean,
  resolve: Resolve = resolveBoth,
): Promise<string | undefined> {
  if (allowPrivate) return undefined;
  const host = new URL(url).hostname;
  const literal = isPrivateAddress(host);
  const addresses = literal === undefined && host !== "localhost"
    ? await resolve(host).catch(() => [])
    : [host];
  const bad = addresses.find((a) => isPrivateAddress(a) === true);
  if (bad === undefined) return undefined;
  return `target ${host} is a private or link-local address (${bad}); ` +
    "set SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE=1 to allow it";
}

/**
 * Reads a reply body as text, at most `maxBytes` bytes: over the cap, the stream
 * is cancelled and the promise rejects with a message saying so. Each chunk is
 * copied out as it comes: a chunk of `fetch` holds a view on a 64 KiB buffer, so
 * keeping the chunks of a reply sent one byte per chunk held 64 KiB per byte
 * (200,000 such bytes: 13 GB).
 */
export async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw new RangeError(`reply body larger than ${maxBytes} bytes`);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  let all = new Uint8Array(Math.min(maxBytes, 64 * 1024));
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (size + value.byteLength > maxBytes) {
        await reader.cancel();
        throw new RangeError(`reply body larger than ${maxBytes} bytes`);
      }
      if (size + value.byteLength > all.byteLength) {
        const grown = new Uint8Array(Math.min(maxBytes, 2 * (size + value.byteLength)));
        grown.set(all.subarray(0, size));
        all = grown;
      }
      all.set(value, size);
      size += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return new TextDecoder().decode(all.subarray(0, size));
}
