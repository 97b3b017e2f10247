/**
 * Wire shapes of the run event stream's helpers.
 *
 * @module
 */
import { z } from "./zod.ts";

/** `POST /v1/runs/:id/events/ticket` answer: a ticket for `?ticket=` on the event stream. */
export const EventsTicket = z.object({
  ticket: z.string().meta({ description: "Pass as `?ticket=` to `GET /v1/runs/{id}/events`." }),
  expires_at: z.string().meta({ description: "ISO 8601; 60 s after minting." }),
}).meta({
  examples: [{ ticket: "1796540400000.3f1c…", expires_at: "2026-12-06T06:20:00.000Z" }],
});
export type EventsTicket = z.infer<typeof EventsTicket>;
