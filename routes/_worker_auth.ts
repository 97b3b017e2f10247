/**
 * Bearer parsing and capability checks shared by the worker, data and session
 * routes (reference/http.md §2.3 parser S, §6.1 parser D, §10.4), with
 * Switchboard's statuses: 401 bad credentials, 403 wrong role or task, 410 ended.
 *
 * @module
 */
import type { Context } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";
import type { CapToken, Verb } from "../engine/captoken.ts";
import { TokenDecodeError } from "../engine/captoken.ts";
import { isHandle, type TokenAuthority, TokenError, type TokenRecord } from "../engine/tokens.ts";
import { hasBearerScheme, isBareBearer, startsWithBearer } from "../protocol/bearer.ts";

const VISIBLE_ASCII = /^[\x20-\x7e]*$/;

/** Parser S: `Authorization: Bearer <x>` with the 0.1.2 texts. */
export function parserS(
  c: Context,
  texts: { scheme: string; empty: string },
): string {
  const header = c.req.header("authorization");
  if (header === undefined) {
    throw new SwitchboardError("unauthorized", "missing Authorization header");
  }
  if (!VISIBLE_ASCII.test(header)) {
    throw new SwitchboardError("bad_request", "invalid Authorization header encoding");
  }
  if (!startsWithBearer(header)) throw new SwitchboardError("bad_request", texts.scheme);
  if (isBareBearer(header)) throw new SwitchboardError("bad_request", texts.empty);
  if (!hasBearerScheme(header)) throw new SwitchboardError("bad_request", texts.scheme);
  const value = header.slice(7).trim();
  if (value === "") throw new SwitchboardError("bad_request", texts.empty);
  return value;
}

/** Parser D: the header wins over `?token=` (data emits). */
export function parserD(c: Context): string {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    if (!VISIBLE_ASCII.test(header)) {
      throw new SwitchboardError("bad_request", "invalid Authorization header encoding");
    }
    if (!hasBearerScheme(header) && !isBareBearer(header)) {
      throw new SwitchboardError("bad_request", "Authorization must be 'Bearer <token>'");
    }
    const value = header.slice(6).trim();
    if (value === "") throw new SwitchboardError("bad_request", "token is empty");
    return value;
  }
  const query = c.req.query("token");
  if (query === undefined) {
    throw new SwitchboardError(
      "unauthorized",
      "missing token: pass 'Authorization: Bearer <token>' or '?token=<token>'",
    );
  }
  const value = query.trim();
  if (value === "") throw new SwitchboardError("bad_request", "token is empty");
  return value;
}

const TOKEN_STATUS = {
  signature: "unauthorized",
  expired: "unauthorized",
  not_found: "unauthorized",
  exhausted: "unauthorized",
  role: "forbidden",
  task_mismatch: "forbidden",
  ended: "gone",
} as const;

/** Maps a token failure to a SwitchboardError with `engine: <context>: ` before its text. */
export function tokenFailure(err: unknown, context: string): never {
  if (err instanceof TokenError) {
    throw new SwitchboardError(TOKEN_STATUS[err.kind], `engine: ${context}: ${err.message}`, {
      cause: err,
    });
  }
  if (err instanceof TokenDecodeError) {
    throw new SwitchboardError("bad_request", err.message, { cause: err });
  }
  throw err;
}

/** Decodes an encoded token or throws 400 `invalid token: …`. */
export function decodeBearer(tokens: TokenAuthority, bearer: string): CapToken {
  try {
    return tokens.decode(bearer);
  } catch (err) {
    return tokenFailure(err, "decode");
  }
}

/** Verifies a token for a verb and task, mapping failures. */
export async function verifyBearer(
  tokens: TokenAuthority,
  token: CapToken,
  verb: Verb,
  taskId: string | undefined,
  context: string,
): Promise<TokenRecord> {
  try {
    return await tokens.verify(token, verb, taskId);
  } catch (err) {
    return tokenFailure(err, context);
  }
}

/** Resolves a handle or a token to its record, checking `verb` for tokens. */
export async function workerRecord(
  tokens: TokenAuthority,
  bearer: string,
  verb: Verb,
  taskId: string | undefined,
  context: string,
): Promise<TokenRecord> {
  if (isHandle(bearer)) {
    try {
      return await tokens.byHandle(bearer);
    } catch (err) {
      return tokenFailure(err, "task_id_from_handle");
    }
  }
  return await verifyBearer(tokens, decodeBearer(tokens, bearer), verb, taskId, context);
}
