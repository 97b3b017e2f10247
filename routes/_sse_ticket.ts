/**
 * Short-lived signed tickets for a browser `EventSource`, which cannot set an
 * `Authorization` header. `POST /v1/runs/:id/events/ticket` (with the API
 * token) mints one; `GET /v1/runs/:id/events?ticket=…` accepts it in place of
 * the token. A ticket names one run and lasts {@link TICKET_TTL_MS}, so no
 * long-lived secret goes into a URL.
 *
 * The HMAC key is derived from the API token, so every instance that shares the
 * token verifies the same tickets, and changing the token voids them.
 *
 * Ticket: `<expiry ms>.<hex HMAC-SHA256 of "sse-ticket\n<run id>\n<expiry ms>">`.
 *
 * @module
 */
import { timingSafeEqual, toHex } from "../engine/crypto.ts";
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { SwitchboardError } from "../protocol/errors.ts";
import { adminGuard } from "./_http.ts";

/** How long a ticket is valid. */
export const TICKET_TTL_MS = 60_000;

const encoder = new TextEncoder();

/** Signs and checks tickets for one API token. */
export interface TicketSigner {
  /** A ticket for `runId`, valid until `now + TICKET_TTL_MS`. */
  mint(runId: string, now: number): Promise<{ ticket: string; expires_at: string }>;
  /** Throws `unauthorized` unless `ticket` is a live ticket for `runId`. */
  verify(ticket: string, runId: string, now: number): Promise<void>;
}

/** Creates the signer for `apiToken`. */
export function ticketSigner(apiToken: string): TicketSigner {
  const key = crypto.subtle.importKey(
    "raw",
    encoder.encode(`switchboard sse ticket key\n${apiToken}`),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sign = async (runId: string, expiry: number) =>
    toHex(
      new Uint8Array(
        await crypto.subtle.sign(
          "HMAC",
          await key,
          encoder.encode(`sse-ticket\n${runId}\n${expiry}`),
        ),
      ),
    );
  return {
    async mint(runId, now) {
      const expiry = now + TICKET_TTL_MS;
      return {
        ticket: `${expiry}.${await sign(runId, expiry)}`,
        expires_at: new Date(expiry).toISOString(),
      };
    },
    async verify(ticket, runId, now) {
      const match = /^(\d{1,15})\.([0-9a-f]{64})$/.exec(ticket);
      if (!match) throw new SwitchboardError("unauthorized", "ticket malformed");
      const expiry = Number(match[1]);
      if (!timingSafeEqual(await sign(runId, expiry), match[2])) {
        throw new SwitchboardError("unauthorized", "ticket invalid for this run");
      }
      if (now > expiry) throw new SwitchboardError("unauthorized", "ticket expired");
    },
  };
}

/**
 * The guard of `GET /v1/runs/:id/events`: with an API token set, a `?ticket=`
 * for this run stands in for `Authorization: Bearer <token>`; otherwise it is
 * the admin guard.
 */
export function eventsGuard(
  apiToken: string | undefined,
  now: () => number = Date.now,
): MiddlewareHandler {
  const admin = adminGuard(apiToken);
  if (apiToken === undefined) return admin;
  const signer = ticketSigner(apiToken);
  return createMiddleware(async function eventsGuard(c, next) {
    const ticket = c.req.query("ticket");
    if (ticket === undefined) return await admin(c, next);
    await signer.verify(ticket, c.req.param("id") ?? "", now());
    await next();
  });
}
