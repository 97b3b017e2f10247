/**
 * Operator seats (SPEC §3) and the operator WebSocket (SPEC §4).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import {
  MintedOperator,
  MintOperatorBody,
  OperatorInfo,
  OperatorList,
  OperatorListQuery,
  PendingList,
} from "../protocol/operators.ts";
import {
  authorizeSeat,
  DEFAULT_GRACE_SECS,
  deleteSeat,
  mintSeat,
  operatorBearer,
  scheduleRelease,
  type SeatDeps,
  type SeatLimits,
} from "../session/seats.ts";
import type { Seat } from "../session/seat.ts";
import {
  checkHandshake,
  offeredProtocols,
  subprotocolBearer,
  upgradeToSession,
} from "../session/ws.ts";
import { createSocketLimits, type SocketLimitsOptions } from "../session/socket_limits.ts";
import { adminGuard, jsonBody, queryOf, requireJson } from "./_http.ts";
import { doc, empty, json } from "./_doc.ts";
import { itemsAfter, pageBudget, sizedPage } from "./_page.ts";

/** What the operator routes need. */
export interface OperatorRoutesDeps extends SeatDeps {
  apiToken?: string;
  seatLimits?: SeatLimits;
  /** The frame rate and unread backlog allowed on operator sockets (defaults if absent). */
  socketLimits?: SocketLimitsOptions;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `GET /v1/operators/:sid` of a seat. */
function seatInfo(s: Seat): OperatorInfo {
  const info: OperatorInfo = {
    sid: s.sid,
    roles: [...s.roles],
    connected: s.connected,
    pending: s.pendingCount,
  };
  if (s.scope) info.scope = { ...s.scope };
  if (s.releaseAfterSecs !== undefined) info.release_on_close = true;
  return info;
}

/** The `?client=` of a socket: printable ASCII, at most 100 characters. */
function clientName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const name = raw.replace(/[^\x20-\x7e]/g, "").slice(0, 100).trim();
  return name === "" ? undefined : name;
}

/** Routes under `/v1/operators`. */
export function operatorRoutes(deps: OperatorRoutesDeps) {
  const admin = adminGuard(deps.apiToken);
  const socketLimits = createSocketLimits(deps.sessionEnv, deps.socketLimits);
  const tags = ["operators"];
  /** The seat named by `:sid`, checked against the request's bearer. */
  const seatOf = (c: Context) =>
    authorizeSeat(deps, c.req.param("sid")!, operatorBearer(c.req.header("authorization")), {
      apiToken: deps.apiToken,
    });
  return new Hono()
    .post(
      "/v1/operators",
      doc({
        tags,
        summary: "Mint an operator seat",
        description: "Registers the seat in every face registry at once, under its sid and " +
          "roles. A `scope` ({run_id} or {blueprint_id}) makes its roles exclusive only within " +
          "that scope. `release_on_close` frees the seat `grace_secs` (default 30) after its " +
          "socket closes, unless a new one comes or requests are pending.",
        responses: { 200: json(MintedOperator, "The new seat and its token (shown once).") },
        errors: [400, 401, 409, 413, 415, 422, 429],
        admin: true,
      }),
      admin,
      requireJson,
      jsonBody(MintOperatorBody),
      async (c) => {
        const body = c.req.valid("json");
        const minted = await mintSeat(deps, body.roles ?? [], {
          limits: deps.seatLimits,
          scope: body.scope,
          releaseAfterSecs: body.release_on_close
            ? (body.grace_secs ?? DEFAULT_GRACE_SECS)
            : undefined,
        });
        return c.json(minted, 200);
      },
    )
    .get(
      "/v1/operators",
      doc({
        tags,
        summary: "List operator seats",
        description: "Sorted by sid. A page ends once its JSON would pass 16 Mi characters; " +
          "pass its `next_after` as `after` for the next one.",
        responses: { 200: json(OperatorList, "The seats, sorted by sid.") },
        errors: [400, 401],
        admin: true,
      }),
      admin,
      queryOf(OperatorListQuery),
      (c) => {
        const { after } = c.req.valid("query");
        const seats = [...deps.sessions.values()]
          .filter((s) => after === undefined || s.sid > after)
          .sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
        const operators = [];
        const budget = pageBudget();
        for (const s of seats) {
          const item = {
            ...seatInfo(s),
            created_at: iso(s.createdAt),
            last_seen_at: iso(s.lastSeenAt),
          };
          if (!budget.fits(item)) {
            // the rest on the next page: one page of them all could pass what a string holds
            return c.json({ operators, next_after: operators.at(-1)!.sid }, 200);
          }
          operators.push(item);
        }
        return c.json({ operators }, 200);
      },
    )
    .get(
      "/v1/operators/:sid",
      doc({
        tags,
        summary: "Read one seat",
        description: "Bearer: the seat's token, or the API token.",
        responses: { 200: json(OperatorInfo, "`connected` means a socket is live now.") },
        errors: [401, 404],
        security: ["operatorToken"],
      }),
      async (c) => {
        return c.json(seatInfo(await seatOf(c)), 200);
      },
    )
    .get(
      "/v1/operators/:sid/pending",
      doc({
        tags,
        summary: "List a seat's pending requests",
        description: "A page that would pass 16 Mi characters of JSON ends early with " +
          "`next_after`; pass it as `after` for the rest.",
        responses: { 200: json(PendingList, "The request frames as sent, in order.") },
        errors: [401, 404],
        security: ["operatorToken"],
      }),
      async (c) => {
        const session = await seatOf(c);
        const after = c.req.query("after") || undefined;
        const frames = itemsAfter(session.pendingFrames(), after, (f) => f.req_id);
        const { page: pending, cut } = sizedPage(frames);
        return c.json({ pending, ...(cut ? { next_after: pending.at(-1)!.req_id } : {}) }, 200);
      },
    )
    .delete(
      "/v1/operators/:sid",
      doc({
        tags,
        summary: "Tear a seat down",
        description:
          "Bearer: the seat's token, or the API token. Closes a live socket with 4001, fails every pending request at once, " +
          "unregisters the sid and its aliases and releases its roles.",
        responses: { 204: empty("Deleted.") },
        errors: [401, 404],
        security: ["operatorToken"],
      }),
      async (c) => {
        const session = await seatOf(c);
        await deleteSeat(deps, session, "deleted");
        return c.body(null, 204);
      },
    )
    .get(
      "/v1/operators/:sid/ws",
      doc({
        tags,
        summary: "Open the operator WebSocket",
        description: "Auth: `Authorization: Bearer <token>`, or the subprotocols `bearer` and " +
          "`<token>` (answered with `bearer`). Handshake errors (400) come before auth (401, " +
          "404, 401). A new socket replaces a live one (4000). `?client=<name/version>` names " +
          "the client in the audit of the requests it settles.",
        responses: { 101: empty("Switching protocols.") },
        errors: [400, 401, 404],
        security: ["operatorToken"],
      }),
      async (c) => {
        checkHandshake(c.req.raw);
        const fromHeader = operatorBearer(c.req.header("authorization"));
        const fromProtocol = fromHeader === null ? subprotocolBearer(c.req.raw) : null;
        const session = await authorizeSeat(deps, c.req.param("sid"), fromHeader ?? fromProtocol);
        return upgradeToSession(c.req.raw, session, {
          // a client that offered `bearer` must get it back, whichever credential it used
          protocol: offeredProtocols(c.req.raw).includes("bearer") ? "bearer" : undefined,
          client: clientName(c.req.query("client")),
          onClose: () => scheduleRelease(deps, session),
          ...socketLimits(session),
        });
      },
    );
}
