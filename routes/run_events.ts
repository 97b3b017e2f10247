/**
 * A run's event stream (SPEC §5): `GET /v1/runs/:id/events` (SSE, replay after
 * `Last-Event-ID`, then live until `run_ended`) and the ticket a browser
 * `EventSource` opens it with (`POST /v1/runs/:id/events/ticket`).
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { SwitchboardError } from "../protocol/errors.ts";
import type { RunEvent } from "../protocol/runs.ts";
import { EventsTicket } from "../protocol/sse.ts";
import type { Engine } from "../engine/mod.ts";
import { adminGuard } from "./_http.ts";
import { json } from "./_doc.ts";
import { eventsGuard, ticketSigner } from "./_sse_ticket.ts";
import { runDoc, runNotFound, type RunRoutesDeps, SSE_KEEPALIVE_MS } from "./_runs.ts";

/** How long the event route waits to learn whether an ended run has events left. */
const PEEK_MS = 1_000;

/** `promise`'s value if it settles within `ms`, else undefined (it keeps running). */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when the stored run is no longer running. */
async function hasEnded(engine: Engine, id: string): Promise<boolean> {
  const view = await engine.view(id);
  return view !== undefined && view.status !== "running";
}

/** Routes of a run's event stream. */
export function runEventRoutes(deps: RunRoutesDeps) {
  const admin = adminGuard(deps.apiToken);
  const tickets = ticketSigner(deps.apiToken ?? "");
  return new Hono()
    .post(
      "/v1/runs/:id/events/ticket",
      runDoc({
        summary: "Mint a 60-second ticket for a browser EventSource on this run's events",
        description: "A browser `EventSource` cannot send `Authorization`. With an API token " +
          "set, open `GET /v1/runs/{id}/events?ticket=<ticket>` instead: the ticket names " +
          "this run only and expires after 60 s (reconnects within that time reuse it). " +
          "Without an API token the events route is open and the ticket is not needed.",
        responses: { 200: json(EventsTicket, "The ticket.") },
        errors: [401, 404],
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        if (!(await deps.engine.view(id))) throw runNotFound(id);
        // Without an API token the stream is open; a ticket is handed out anyway, so
        // browser code need not know how the server is configured.
        const ticket = await tickets.mint(id, (deps.now ?? Date.now)());
        return c.json(ticket, 200);
      },
    )
    .get(
      "/v1/runs/:id/events",
      runDoc({
        summary: "Stream a run's events (Server-Sent Events)",
        description: "Replays from the start (or after `Last-Event-ID`), then follows the run " +
          "live and ends after `run_ended`. Event types: run_started, run_resumed, " +
          "step_started, step_finished, operator_request_sent, operator_request_settled, " +
          "operator_request_cancelled, run_ended. Payloads: step_finished has `verdict`, " +
          "`duration_ms` and the step's `output` (on pass); operator_request_sent has the " +
          "`question` (ask), `agent` (hook_before, spawn) and `prompt` (spawn directive); " +
          "operator_request_settled has the `answer`; run_ended has `final_ctx` on success. " +
          "With an API token set, `?ticket=` (from " +
          "`POST /v1/runs/{id}/events/ticket`) stands in for the token. Past " +
          "`SWITCHBOARD_MAX_STREAMS` open streams a new one answers 503.",
        responses: {
          200: {
            description: "`text/event-stream`",
            content: { "text/event-stream": { schema: { type: "string" as const } } },
          },
          204: {
            description: "The run has ended and nothing is left after `Last-Event-ID`; a " +
              "browser `EventSource` stops reconnecting on it.",
          },
        },
        errors: [400, 401, 404, 503],
      }),
      eventsGuard(deps.apiToken, deps.now),
      async (c) => {
        const id = c.req.param("id");
        const lastRaw = c.req.header("last-event-id") ?? c.req.query("last_event_id") ?? "0";
        const after = Number(lastRaw);
        if (!Number.isInteger(after) || after < 0) {
          throw new SwitchboardError("bad_request", "Last-Event-ID must be a non-negative integer");
        }
        const watching = new AbortController();
        const events = await deps.watchRemote?.(id, after, { signal: watching.signal }) ??
          await deps.engine.watch(id, after, { signal: watching.signal });
        if (!events) throw runNotFound(id);
        // Nothing left to replay of an ended run: 204 stops a browser EventSource. An
        // ended run's watch replays and returns at once; the bound covers a run that
        // is still finishing in memory.
        const first = await hasEnded(deps.engine, id) ? events.next() : undefined;
        if (first && (await settledWithin(first, PEEK_MS))?.done) {
          watching.abort();
          return c.body(null, 204);
        }
        let release: () => void;
        let end = () => watching.abort(); // a shutdown ends the stream (its watch, then the loop)
        try {
          release = deps.streams?.take(() => end()) ?? (() => {});
        } catch (err) {
          watching.abort();
          throw err;
        }
        return streamSSE(c, async (stream) => {
          end = () => stream.abort();
          stream.onAbort(() => watching.abort());
          try {
            let next = first ?? events.next();
            while (!stream.aborted) {
              // an idle stream gets a keep-alive comment every SSE_KEEPALIVE_MS
              let timer: ReturnType<typeof setTimeout> | undefined;
              const idle = new Promise<"idle">((resolve) => {
                timer = setTimeout(() => resolve("idle"), SSE_KEEPALIVE_MS);
              });
              const got = await Promise.race([next, idle]);
              clearTimeout(timer);
              if (got === "idle") {
                await stream.write(": keep-alive\n\n");
                continue;
              }
              if (got.done) break;
              const e: RunEvent = got.value;
              await stream.writeSSE({
                id: String(e.id),
                event: e.type,
                data: JSON.stringify({ ...e, at: new Date(e.at).toISOString() }),
              });
              next = events.next();
            }
          } finally {
            release();
            watching.abort();
            await events.return?.();
          }
        });
      },
    );
}
