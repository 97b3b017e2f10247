/**
 * The operator's inbox (`GET /v1/inbox`): every pending request across seats,
 * oldest first, with its context, age and deadline.
 *
 * @module
 */
import { Hono } from "hono";
import { Inbox, type InboxItem, InboxQuery } from "../protocol/operators.ts";
import type { Seat } from "../session/seat.ts";
import { adminGuard, queryOf } from "./_http.ts";
import { doc, json } from "./_doc.ts";
import { itemsAfter, sizedPage } from "./_page.ts";

/** What the inbox route needs. */
export interface InboxRoutesDeps {
  sessions: ReadonlyMap<string, Seat>;
  now(): number;
  apiToken?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Every pending request of `sessions` that passes `query`, oldest first. */
export function inboxItems(
  sessions: Iterable<Seat>,
  query: InboxQuery,
  now: number,
): InboxItem[] {
  const items: Array<InboxItem & { sent: number }> = [];
  for (const session of sessions) {
    if (query.role !== undefined && !session.roles.includes(query.role)) continue;
    for (const record of session.pendingRecords()) {
      const frame = record.frame;
      if (query.kind !== undefined && frame.type !== query.kind) continue;
      if (query.run_id !== undefined && record.run_id !== query.run_id) continue;
      const age = Math.max(0, (now - record.sent_at) / 1000);
      if (query.older_than_secs !== undefined && age < query.older_than_secs) continue;
      const item: InboxItem & { sent: number } = {
        sent: record.sent_at,
        req_id: record.req_id,
        kind: frame.type,
        sid: session.sid,
        roles: [...session.roles],
        sent_at: iso(record.sent_at),
        age_secs: age,
        deadline: record.deadline_at === undefined ? null : iso(record.deadline_at),
        frame,
      };
      if (record.role !== undefined) item.role = record.role;
      if (frame.context) item.context = frame.context;
      items.push(item);
    }
  }
  items.sort((a, b) => a.sent - b.sent || (a.req_id < b.req_id ? -1 : 1));
  return itemsAfter(items, query.after, (i) => i.req_id).slice(0, query.limit)
    .map(({ sent: _, ...item }) => item);
}

/** `GET /v1/inbox`. */
export function inboxRoutes(deps: InboxRoutesDeps) {
  return new Hono().get(
    "/v1/inbox",
    doc({
      tags: ["operators"],
      summary: "List every pending operator request",
      description: "Across all seats, oldest first. Filters: `role` (a role the seat holds), " +
        "`run_id`, `kind` (ask, hook_before, spawn), `older_than_secs`, `limit` (default 100). " +
        "A page that would pass 16 Mi characters of JSON ends early with `next_after`; pass it " +
        "as `after` for the rest (`after` works after any `req_id` of the list).",
      responses: { 200: json(Inbox, "Pending requests, oldest first.") },
      errors: [400, 401],
      admin: true,
    }),
    adminGuard(deps.apiToken),
    queryOf(InboxQuery),
    (c) => {
      const all = inboxItems(deps.sessions.values(), c.req.valid("query"), deps.now());
      const { page: items, cut } = sizedPage(all);
      return c.json({ items, ...(cut ? { next_after: items.at(-1)!.req_id } : {}) }, 200);
    },
  );
}
