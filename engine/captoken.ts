/**
 * Capability tokens (reference/http.md §10, engine.md §6): a JSON object signed
 * with HMAC-SHA256 (WebCrypto), encoded as unpadded base64url.
 *
 * @module
 */
import { fromHex, toHex } from "./crypto.ts";
import { hmacSha256Hex } from "./hmac_sha256.ts";

/** Token roles. */
export type Role = "operator" | "worker" | "observer" | "senior";

/** Verbs, by role (reference/http.md §10.4). */
export const ROLE_VERBS: Record<Role, readonly string[]> = {
  operator: [
    "start_task",
    "dispatch_attempt",
    "mint_worker_token",
    "read_task_state",
    "cancel_task",
    "query_senior",
    "mark_pass",
    "mark_blocked",
    "attach_session",
    "detach_session",
    "heartbeat",
    "poll_task",
  ],
  worker: [
    "fetch_prompt",
    "fetch_data",
    "post_result",
    "verify_token",
    "emit_output",
    "start_task",
    "dispatch_attempt",
    "read_task_state",
    "poll_task",
    "cancel_task",
  ],
  observer: ["subscribe_events", "read_trace", "read_task_state"],
  senior: ["answer_query", "override_verdict", "pause_loop", "resume_loop", "inject_directive"],
};

/** A verb in snake_case. */
export type Verb = string;

/** The token object, fields in serialization order. */
export interface CapToken {
  agent_id: string;
  role: Role;
  scopes: string[];
  issued_at: number;
  expire_at: number;
  max_uses: number | null;
  nonce: string;
  sig_hex: string;
}

/** A token that failed to decode (400 `invalid token: …`). */
export class TokenDecodeError extends Error {
  constructor(message: string) {
    super(`invalid token: ${message}`);
    this.name = "TokenDecodeError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_INDEX = new Map([...B64URL].map((ch, i) => [ch, i]));

const ROLE_DEBUG: Record<string, string> = {
  operator: "Operator",
  worker: "Worker",
  observer: "Observer",
  senior: "Senior",
};

/** `Operator`, `Worker`, … as in the Rust debug form. */
export function roleDebug(role: Role): string {
  return ROLE_DEBUG[role] ?? role[0].toUpperCase() + role.slice(1);
}

/** `FetchPrompt` for `fetch_prompt`. */
export function verbDebug(verb: Verb): string {
  return verb.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/** The string the MAC covers. */
export function signingInput(t: Omit<CapToken, "sig_hex">): string {
  const maxUses = t.max_uses === null ? "None" : `Some(${t.max_uses})`;
  const scopes = t.scopes.length === 1 ? t.scopes[0] : t.scopes.join(",");
  return `${t.agent_id}|${
    roleDebug(t.role)
  }|${scopes}|${t.issued_at}|${t.expire_at}|${maxUses}|${t.nonce}`;
}

/** Imports a raw secret as an HMAC-SHA256 key. */
export function importSecret(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    secret as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** Signs an unsigned token. */
export async function signToken(
  key: CryptoKey,
  unsigned: Omit<CapToken, "sig_hex">,
): Promise<CapToken> {
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(signingInput(unsigned)));
  return { ...unsigned, sig_hex: toHex(new Uint8Array(mac)) };
}

/**
 * A synchronous signer for the raw secret (the same MAC as {@link signToken},
 * without a round trip through WebCrypto's async queue: a worker token is
 * minted on every external step). The key's HMAC state is computed once.
 */
export function tokenSigner(secret: Uint8Array): (unsigned: Omit<CapToken, "sig_hex">) => CapToken {
  const mac = hmacSha256Hex(secret);
  return (unsigned) => ({ ...unsigned, sig_hex: mac(signingInput(unsigned)) });
}

/** True when the token's MAC is right (constant-time, inside WebCrypto). */
export async function checkSignature(key: CryptoKey, token: CapToken): Promise<boolean> {
  const mac = fromHex(token.sig_hex);
  if (mac === null || mac.length !== 32) return false;
  return await crypto.subtle.verify(
    "HMAC",
    key,
    mac as Uint8Array<ArrayBuffer>,
    encoder.encode(signingInput(token)),
  );
}

/** A string JSON.stringify writes as `"` + itself + `"` (printable ASCII, no quote or backslash). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const str = (s: string) => PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
let scratch = new Uint8Array(512);

/** Encodes a token as unpadded base64url of its compact JSON. */
export function encodeToken(token: CapToken): string {
  // JSON.stringify of an object with these fields in this order, written out
  const scopes = token.scopes.length === 1 && token.scopes[0] === "*"
    ? '["*"]'
    : JSON.stringify(token.scopes);
  const json = `{"agent_id":${str(token.agent_id)},"role":${str(token.role)},"scopes":${scopes},` +
    `"issued_at":${JSON.stringify(token.issued_at)},"expire_at":${
      JSON.stringify(token.expire_at)
    },` +
    `"max_uses":${JSON.stringify(token.max_uses)},"nonce":${str(token.nonce)},"sig_hex":${
      str(token.sig_hex)
    }}`;
  if (scratch.length < json.length * 3) scratch = new Uint8Array(json.length * 3);
  const { written } = encoder.encodeInto(json, scratch);
  return base64UrlEncode(scratch.subarray(0, written));
}

/** Decodes a token strictly. Throws {@link TokenDecodeError}. */
export function decodeToken(encoded: string): CapToken {
  let bytes: Uint8Array;
  try {
    bytes = base64UrlDecode(encoded);
  } catch (err) {
    throw new TokenDecodeError(`base64 decode failed: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new TokenDecodeError(`json parse failed: ${(err as Error).message}`);
  }
  const fail = (what: string): never => {
    throw new TokenDecodeError(`json parse failed: ${what}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("expected an object");
  const o = raw as Record<string, unknown>;
  const str = (k: string) =>
    typeof o[k] === "string" ? o[k] as string : fail(`missing field \`${k}\``);
  const u64 = (k: string) =>
    Number.isSafeInteger(o[k]) && (o[k] as number) >= 0
      ? o[k] as number
      : fail(`missing or invalid field \`${k}\``);
  const role = str("role");
  if (!(role in ROLE_VERBS)) fail(`unknown variant \`${role}\``);
  if (!Array.isArray(o.scopes) || !o.scopes.every((s) => typeof s === "string")) {
    fail("missing or invalid field `scopes`");
  }
  const maxUses = o.max_uses === undefined || o.max_uses === null
    ? null
    : Number.isInteger(o.max_uses) && (o.max_uses as number) >= 0 &&
        (o.max_uses as number) <= 0xffffffff
    ? o.max_uses as number
    : fail("invalid field `max_uses`");
  return {
    agent_id: str("agent_id"),
    role: role as Role,
    scopes: o.scopes as string[],
    issued_at: u64("issued_at"),
    expire_at: u64("expire_at"),
    max_uses: maxUses,
    nonce: str("nonce"),
    sig_hex: str("sig_hex"),
  };
}

/** Unpadded base64url. */
export function base64UrlEncode(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** Strict unpadded base64url: no padding, no `+`/`/`, zero trailing bits. */
export function base64UrlDecode(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new Error("invalid length");
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const v = B64_INDEX.get(text[i]);
    if (v === undefined) throw new Error(`invalid symbol ${JSON.stringify(text[i])}, offset ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new Error("invalid last symbol (trailing bits)");
  return out.subarray(0, at);
}
