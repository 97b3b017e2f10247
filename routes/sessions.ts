/**
 * `/v1/sessions` (reference/http.md §3.2–3.3): attach mints a capability token and
 * answers its nonce as the session id; detach verifies, then removes. Every role
 * may detach its own session (the 0.1.2 detach bug is fixed). Detach carries the
 * session id as its bearer, so only attach is behind the API token.
 *
 * @module
 */
import { Hono } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";
import { AttachedSession, AttachSessionBody } from "../protocol/worker.ts";
import type { CapToken, Role } from "../engine/captoken.ts";
import { checkSignature } from "../engine/captoken.ts";
import type { TokenAuthority } from "../engine/tokens.ts";
import { MAX_TTL_SECS } from "../engine/mod.ts";
import { adminGuard, jsonBody, requireJson } from "./_http.ts";
import { doc, empty, json } from "./_doc.ts";
import { parserS } from "./_worker_auth.ts";

/** What the session routes need. */
export interface SessionRoutesDeps {
  tokens: TokenAuthority;
  /** session id (token nonce) → token. */
  attached: Map<string, CapToken>;
  key: CryptoKey;
  now(): number;
  apiToken?: string;
}

const ROLES = new Set(["operator", "worker", "observer", "senior"]);

/** Attached sessions held at once; expired ones are dropped first, then 429. */
export const MAX_ATTACHED_SESSIONS = 10_000;

/** Drops the attached sessions whose token has expired (and their token records). */
function dropExpired(deps: SessionRoutesDeps): void {
  const nowSecs = Math.floor(deps.now() / 1000);
  for (const [sid, token] of deps.attached) {
    if (nowSecs >= token.expire_at) {
      deps.attached.delete(sid);
      deps.tokens.forget(sid);
    }
  }
}

/** Routes under `/v1/sessions`. */
export function sessionRoutes(deps: SessionRoutesDeps) {
  const admin = adminGuard(deps.apiToken);
  const tags = ["sessions"];
  return new Hono()
    .post(
      "/v1/sessions",
      doc({
        tags,
        summary: "Attach a session (mints a capability token; vestigial in 0.1.2)",
        responses: { 200: json(AttachedSession, "The session id is the token's nonce.") },
        errors: [400, 401, 413, 415, 422, 429],
        admin: true,
      }),
      admin,
      requireJson,
      jsonBody(AttachSessionBody),
      async (c) => {
        const body = c.req.valid("json");
        const role = body.role.toLowerCase();
        if (!ROLES.has(role)) throw new SwitchboardError("bad_request", `unknown role: ${role}`);
        if (body.ttl_secs > MAX_TTL_SECS) {
          throw new SwitchboardError("bad_request", `ttl_secs must be at most ${MAX_TTL_SECS}`);
        }
        if (deps.attached.size >= MAX_ATTACHED_SESSIONS) dropExpired(deps);
        if (deps.attached.size >= MAX_ATTACHED_SESSIONS) {
          throw new SwitchboardError(
            "too_many_requests",
            `${MAX_ATTACHED_SESSIONS} sessions are attached; detach one first`,
            { headers: { "Retry-After": "60" } },
          );
        }
        const token = await deps.tokens.mintSession(body.agent_id, role as Role, body.ttl_secs);
        deps.attached.set(token.nonce, token);
        return c.json({ session_id: token.nonce, role: body.role }, 200);
      },
    )
    .delete(
      "/v1/sessions",
      doc({
        tags,
        summary: "Detach a session",
        description: "`Authorization: Bearer <session_id>`. Verified before it is removed. " +
          "The session id is the credential, so the API token is not asked for here.",
        responses: { 204: empty("Detached.") },
        errors: [400, 401, 404],
      }),
      async (c) => {
        const sid = parserS(c, {
          scheme: "Authorization must be 'Bearer <sid>'",
          empty: "Bearer sid is empty",
        });
        const token = deps.attached.get(sid);
        if (!token) throw new SwitchboardError("not_found", `session: ${sid}`);
        if (!(await checkSignature(deps.key, token))) {
          throw new SwitchboardError("unauthorized", "engine: token signature invalid");
        }
        if (Math.floor(deps.now() / 1000) >= token.expire_at) {
          deps.attached.delete(sid);
          deps.tokens.forget(sid);
          throw new SwitchboardError("unauthorized", "engine: token expired");
        }
        deps.attached.delete(sid);
        deps.tokens.forget(sid);
        return c.body(null, 204);
      },
    );
}
