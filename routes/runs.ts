/**
 * `POST /v1/tasks` (a run plus a wait, the 0.1.2 contract) and the async run
 * routes: start, read, list, live events (SSE) and cancel (SPEC §5).
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { SwitchboardError } from "../protocol/errors.ts";
import {
  RunAccepted,
  RunInfo,
  RunList,
  RunListQuery,
  type RunSeat,
  TaskBody,
  TaskResult,
} from "../protocol/tasks.ts";
import type { RunEvent, RunRecord } from "../protocol/runs.ts";
import {
  CompileError,
  type Engine,
  newRunId,
  type PrepareEnv,
  prepareRun,
  type StartRunRequest,
} from "../engine/mod.ts";
import { mintSeat, releaseRunSeats, type SeatDeps } from "../session/seats.ts";
import { adminGuard, jsonBody, queryOf, requireJson } from "./_http.ts";
import { doc, json } from "./_doc.ts";
import { eventsGuard, ticketSigner } from "./_sse_ticket.ts";
import { EventsTicket } from "../protocol/sse.ts";

/** What the run routes need. */
export interface RunRoutesDeps extends PrepareEnv {
  engine: Engine;
  apiToken?: string;
  /** The clock of SSE tickets. Default `Date.now`. */
  now?: () => number;
  /** The seat table, to mint a run's own `seats` (absent: `seats` is refused). */
  seats?: SeatDeps;
}

/** How often an idle event stream sends a keep-alive comment. */
export const SSE_KEEPALIVE_MS = 15_000;

async function startRun(deps: RunRoutesDeps, body: TaskBody) {
  const request = await prepareRun(deps, body);
  const seats = await mintRunSeats(deps, body, request);
  try {
    return { run: deps.engine.start(request), seats };
  } catch (err) {
    if (deps.seats) await releaseRunSeats(deps.seats, request.runId ?? "");
    if (err instanceof CompileError) {
      throw new SwitchboardError("bad_request", `run: launch: compile: ${err.message}`);
    }
    throw err;
  }
}

/**
 * Mints the run's own `seats`, scoped to the run (whose id is chosen now), so
 * its roles reach them before any other seat. They are deleted when it ends.
 */
async function mintRunSeats(
  deps: RunRoutesDeps,
  body: TaskBody,
  request: StartRunRequest,
): Promise<RunSeat[] | undefined> {
  if (!body.seats || body.seats.length === 0) return undefined;
  if (!deps.seats) throw new SwitchboardError("bad_request", "seats: not available here");
  const runId = request.runId = newRunId();
  const minted: RunSeat[] = [];
  try {
    for (const { role } of body.seats) {
      const seat = await mintSeat(deps.seats, [role], { scope: { run_id: runId } });
      minted.push({ sid: seat.sid, token: seat.token, role });
    }
  } catch (err) {
    await releaseRunSeats(deps.seats, runId);
    throw err;
  }
  return minted;
}

/** The `/v1/tasks` error text of a run that did not succeed (0.1.2 prefixes). */
export function taskErrorText(record: RunRecord): string {
  switch (record.error_kind) {
    case "flow":
      return `run: launch: flow eval: ${record.error}`;
    case "ttl":
    case "cancelled":
      return record.error ?? "run ended";
    default:
      return `run: ${record.error ?? "failed"}`;
  }
}

const RunIdParam = z.object({ id: z.string() });

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

/** Routes for tasks and runs. */
export function runRoutes(deps: RunRoutesDeps) {
  const admin = adminGuard(deps.apiToken);
  const tickets = ticketSigner(deps.apiToken ?? "");
  const tags = ["runs"];
  return new Hono()
    .post(
      "/v1/tasks",
      doc({
        tags,
        summary: "Run a Blueprint and wait for it (0.1.2)",
        description: "Synchronous: answers when the run ends. If the client goes away the run " +
          "goes on; read it from `/v1/runs`. Every failure after body parsing is 400.",
        responses: { 200: json(TaskResult, "The run succeeded.") },
        errors: [400, 401, 413, 415, 422],
        admin: true,
      }),
      admin,
      requireJson,
      jsonBody(TaskBody),
      async (c) => {
        const body = c.req.valid("json");
        if (body.seats !== undefined) {
          throw new SwitchboardError(
            "bad_request",
            "seats: a run's own seats need POST /v1/runs (their tokens come back in its 202)",
          );
        }
        const { run } = await startRun(deps, body);
        const record = await run.done;
        if (record.status === "succeeded") {
          return c.json({
            final_ctx: record.final_ctx ?? null,
            bound_version: record.bound_version,
            effective_ttl_secs: record.effective_ttl_secs,
            ttl_source: record.ttl_source,
          }, 200);
        }
        if (record.error_kind === "internal") throw new Error(`run ${record.run_id} failed`);
        throw new SwitchboardError("bad_request", taskErrorText(record), {
          extra: { run_id: record.run_id },
        });
      },
    )
    .post(
      "/v1/runs",
      doc({
        tags,
        summary: "Start a run without waiting",
        description: "Takes the body of `POST /v1/tasks`. Compile errors answer 400 at once. " +
          "`seats: [{role}]` mints seats for this run alone (scoped to it, deleted when it " +
          "ends); the 202 returns them as `seats: [{sid, token, role}]`.",
        responses: { 202: json(RunAccepted, "The run started.") },
        errors: [400, 401, 413, 415, 422],
        admin: true,
      }),
      admin,
      requireJson,
      jsonBody(TaskBody),
      async (c) => {
        const { run, seats } = await startRun(deps, c.req.valid("json"));
        await run.durable; // the 202 confirms a run that survives a restart; the run goes on meanwhile
        const accepted: RunAccepted = { run_id: run.run_id, status: run.status };
        if (seats) accepted.seats = seats;
        return c.json(accepted, 202);
      },
    )
    .get(
      "/v1/runs",
      doc({
        tags,
        summary: "List runs, newest first",
        responses: { 200: json(RunList, "Runs newest first, each as GET /v1/runs/:id shows it.") },
        errors: [400, 401],
        admin: true,
      }),
      admin,
      queryOf(RunListQuery),
      async (c) => {
        const { limit, status } = c.req.valid("query");
        return c.json({ runs: await deps.engine.list(limit, status) }, 200);
      },
    )
    .get(
      "/v1/runs/:id",
      doc({
        tags,
        summary: "Read a run",
        responses: { 200: json(RunInfo, "Status, steps, and final_ctx or error.") },
        errors: [401, 404],
        admin: true,
      }),
      admin,
      async (c) => {
        const view = await deps.engine.view(RunIdParam.parse(c.req.param()).id);
        if (!view) throw new SwitchboardError("not_found", `run not found: ${c.req.param("id")}`);
        return c.json(view, 200);
      },
    )
    .delete(
      "/v1/runs/:id",
      doc({
        tags,
        summary: "Cancel a run",
        description: "Pending operator requests get `cancel{run_ended}` and the run's tokens " +
          "stop working. Answers the run as it ended. 410 when it had already ended.",
        responses: { 200: json(RunInfo, "The cancelled run.") },
        errors: [401, 404, 410],
        admin: true,
      }),
      admin,
      async (c) => {
        return c.json(await deps.engine.cancel(c.req.param("id")), 200);
      },
    )
    .post(
      "/v1/runs/:id/events/ticket",
      doc({
        tags,
        summary: "Mint a 60-second ticket for a browser EventSource on this run's events",
        description: "A browser `EventSource` cannot send `Authorization`. With an API token " +
          "set, open `GET /v1/runs/{id}/events?ticket=<ticket>` instead: the ticket names " +
          "this run only and expires after 60 s (reconnects within that time reuse it). " +
          "Without an API token the events route is open and the ticket is not needed.",
        responses: { 200: json(EventsTicket, "The ticket.") },
        errors: [401, 404],
        admin: true,
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        if (!(await deps.engine.view(id))) {
          throw new SwitchboardError("not_found", `run not found: ${id}`);
        }
        // Without an API token the stream is open; a ticket is handed out anyway, so
        // browser code need not know how the server is configured.
        const ticket = await tickets.mint(id, (deps.now ?? Date.now)());
        return c.json(ticket, 200);
      },
    )
    .get(
      "/v1/runs/:id/events",
      doc({
        tags,
        summary: "Stream a run's events (Server-Sent Events)",
        description: "Replays from the start (or after `Last-Event-ID`), then follows the run " +
          "live and ends after `run_ended`. Event types: run_started, run_resumed, " +
          "step_started, step_finished, operator_request_sent, operator_request_settled, " +
          "operator_request_cancelled, run_ended. Payloads: step_finished has `verdict`, " +
          "`duration_ms` and the step's `output` (on pass); operator_request_sent has the " +
          "`question` (ask), `agent` (hook_before, spawn) and `prompt` (spawn directive); " +
          "operator_request_settled has the `answer`; run_ended has `final_ctx` on success. " +
          "With an API token set, `?ticket=` (from " +
          "`POST /v1/runs/{id}/events/ticket`) stands in for the token.",
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
        errors: [400, 401, 404],
        admin: true,
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
        const events = await deps.engine.watch(id, after, { signal: watching.signal });
        if (!events) throw new SwitchboardError("not_found", `run not found: ${id}`);
        // Nothing left to replay of an ended run: 204 stops a browser EventSource. An
        // ended run's watch replays and returns at once; the bound covers a run that
        // is still finishing in memory.
        const first = await hasEnded(deps.engine, id) ? events.next() : undefined;
        if (first && (await settledWithin(first, PEEK_MS))?.done) {
          watching.abort();
          return c.body(null, 204);
        }
        return streamSSE(c, async (stream) => {
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
            watching.abort();
            await events.return?.();
          }
        });
      },
    );
}
