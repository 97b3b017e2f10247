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
  RUN_SCAN_MAX,
  RunAccepted,
  RunInfo,
  RunList,
  RunListQuery,
  type RunSeat,
  RunTrace,
  TaskBody,
  TaskResult,
} from "../protocol/tasks.ts";
import type { RunEvent, RunRecord } from "../protocol/runs.ts";
import type { RunStore } from "../store/run_store.ts";
import {
  CompileError,
  type Engine,
  lastFinal,
  newRunId,
  type PrepareEnv,
  prepareRun,
  type RunView,
  type StartedRun,
  type StartRunRequest,
} from "../engine/mod.ts";
import { mintSeat, releaseRunSeats, type SeatDeps } from "../session/seats.ts";
import { createRunFeed, type RunFeed, type RunFeedEvent } from "./_run_feed.ts";
import { adminGuard, jsonBody, queryOf, requireJson } from "./_http.ts";
import { doc, json } from "./_doc.ts";
import { eventsGuard, ticketSigner } from "./_sse_ticket.ts";
import { EventsTicket } from "../protocol/sse.ts";
import { checkTaskBody } from "./_task_body.ts";

/** In a cluster: the runs another instance owns (cluster.ts). */
export interface RemoteRuns {
  /** Cancels a running run that another instance owns; undefined when it is not one. */
  cancelRemote?: (runId: string) => Promise<RunView | undefined>;
  /** Follows a run that another instance owns; undefined when it is not one. */
  watchRemote?: (
    runId: string,
    after: number,
    options: { signal: AbortSignal },
  ) => Promise<AsyncIterableIterator<RunEvent> | undefined>;
}

/** What the run routes need. */
export interface RunRoutesDeps extends PrepareEnv, RemoteRuns {
  engine: Engine;
  /** The run store, for the list's filters and re-runs (defaults to what the engine lists). */
  runs?: RunStore;
  apiToken?: string;
  /** The clock of SSE tickets. Default `Date.now`. */
  now?: () => number;
  /** The seat table, to mint a run's own `seats` (absent: `seats` is refused). */
  seats?: SeatDeps;
  /** In a cluster: loads a seat minted on another instance that this one has not seen yet. */
  loadSeat?: (sid: string) => Promise<void>;
  /** In a cluster: reads every seat again (a role named by a run may be new). */
  syncSeats?: () => Promise<void>;
  /** The run feed (deps.ts tells it when runs end); a new one when absent. */
  runFeed?: RunFeed;
}

/** How often an idle event stream sends a keep-alive comment. */
export const SSE_KEEPALIVE_MS = 15_000;

async function startRun(deps: RunRoutesDeps, body: TaskBody, feed: RunFeed) {
  const named = [body.operator_sid, body.operator?.spawn_hook_id, body.operator?.senior_bridge_id];
  for (const sid of named) {
    if (sid !== undefined && deps.loadSeat && !deps.operators.has(sid)) await deps.loadSeat(sid);
  }
  const request = await prepareRun(deps, body);
  const seats = await mintRunSeats(deps, body, request);
  try {
    try {
      return { run: launched(deps, request, feed), seats };
    } catch (err) {
      if (!(err instanceof SwitchboardError && err.cause instanceof CompileError)) throw err;
      if (!deps.syncSeats) throw err;
      // in a cluster, a seat minted a moment ago elsewhere may not have reached this instance
      await deps.syncSeats();
      return { run: launched(deps, request, feed), seats };
    }
  } catch (err) {
    if (deps.seats && request.runId) await releaseRunSeats(deps.seats, request.runId);
    throw err;
  }
}

/** Starts a prepared run and tells the feed (its end is told by the engine's run-end hook, deps.ts). */
function launched(deps: RunRoutesDeps, request: StartRunRequest, feed: RunFeed): StartedRun {
  const run = startOrThrow(deps, request);
  feed.tell("run_started", run.run_id, () => deps.engine.view(run.run_id));
  return run;
}

function startOrThrow(deps: RunRoutesDeps, request: StartRunRequest): StartedRun {
  try {
    return deps.engine.start(request);
  } catch (err) {
    if (err instanceof CompileError) {
      throw new SwitchboardError("bad_request", `run: launch: compile: ${err.message}`, {
        cause: err,
      });
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

/** Runs newest first through the list's filters and cursor, and the total matching. */
async function listRuns(deps: RunRoutesDeps, query: RunListQuery) {
  const { limit, status, blueprint, q, before } = query;
  if (!deps.runs || (!status && !blueprint && !q && !before)) {
    const runs = await deps.engine.list(limit, status);
    return { runs };
  }
  const records = await deps.runs.listRuns({ limit: RUN_SCAN_MAX, status });
  let matching = records.filter((r) =>
    (!blueprint || r.blueprint.id === blueprint) && (!q || r.run_id.includes(q))
  );
  const total = matching.length;
  if (before) {
    const at = matching.findIndex((r) => r.run_id === before);
    matching = at < 0 ? [] : matching.slice(at + 1);
  }
  const page = matching.slice(0, limit);
  const runs = (await Promise.all(page.map((r) => deps.engine.view(r.run_id))))
    .filter((v) => v !== undefined);
  const more = matching.length > limit;
  return { runs, total, ...(more ? { next_before: page.at(-1)!.run_id } : {}) };
}

/** Each step of a run with its input (the prompt), its output and the ctx after it. */
async function traceRun(deps: RunRoutesDeps, runId: string) {
  const view = await deps.engine.view(runId);
  if (!view) throw new SwitchboardError("not_found", `run not found: ${runId}`);
  const stored = new Map(
    (await deps.runs?.listSteps(runId) ?? []).map((s) => [`${s.task_id}#${s.attempt}`, s]),
  );
  const steps = await Promise.all(view.steps.map(async (step) => {
    const task = await deps.engine.task(step.task_id);
    const attempt = task?.attempts[step.attempt - 1];
    const final = attempt ? lastFinal(attempt.tail) : undefined;
    const record = stored.get(`${step.task_id}#${step.attempt}`);
    const started = Date.parse(step.started_at);
    const finished = step.finished_at ? Date.parse(step.finished_at) : undefined;
    return {
      ...step,
      ...(task ? { key: task.key } : {}),
      ...(finished !== undefined ? { duration_ms: finished - started } : {}),
      ...(attempt ? { input: attempt.prompt } : {}),
      ...(final ? { output: final.value, ok: final.ok } : {}),
      ...(record?.error !== undefined ? { error: record.error } : {}),
      ...(record?.ctx_after !== undefined ? { ctx_after: record.ctx_after } : {}),
      ...(record?.ctx_after_bytes !== undefined ? { ctx_after_bytes: record.ctx_after_bytes } : {}),
    };
  }));
  return { run_id: runId, steps };
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
  const feed = deps.runFeed ?? createRunFeed();
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
      jsonBody(TaskBody, checkTaskBody),
      async (c) => {
        const body = c.req.valid("json");
        if (body.seats !== undefined) {
          throw new SwitchboardError(
            "bad_request",
            "seats: a run's own seats need POST /v1/runs (their tokens come back in its 202)",
          );
        }
        const { run } = await startRun(deps, body, feed);
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
      jsonBody(TaskBody, checkTaskBody),
      async (c) => {
        const { run, seats } = await startRun(deps, c.req.valid("json"), feed);
        await run.durable; // the 202 confirms a run that survives a restart; the run goes on meanwhile
        const accepted: RunAccepted = { run_id: run.run_id, status: run.status };
        if (seats) accepted.seats = seats;
        return c.json(accepted, 202);
      },
    )
    .post(
      "/v1/runs/:id/rerun",
      doc({
        tags,
        summary: "Start a run again with the same Blueprint, input and options",
        description: "Takes the Blueprint version, `init_ctx`, TTL and operator options of " +
          "run `:id` (ended or not) and starts a new run with them.",
        responses: { 202: json(RunAccepted, "The new run started.") },
        errors: [400, 401, 404],
        admin: true,
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        const record = await deps.runs?.getRun(id);
        if (!record) throw new SwitchboardError("not_found", `run not found: ${id}`);
        const run = launched(deps, {
          blueprint: record.blueprint,
          boundVersion: record.bound_version,
          initCtx: record.init_ctx,
          ttlSecs: record.effective_ttl_secs,
          ttlSource: record.ttl_source,
          operator: record.operator,
        }, feed);
        await run.durable; // as for POST /v1/runs: the 202 confirms a durable start
        return c.json({ run_id: run.run_id, status: run.status }, 202);
      },
    )
    .get(
      "/v1/runs/feed",
      doc({
        tags,
        summary: "Follow runs starting and ending (Server-Sent Events)",
        description: "Live only (no replay): read `GET /v1/runs` first. Each event " +
          "(`run_started`, `run_ended`) carries the run as `GET /v1/runs/:id` shows it.",
        responses: {
          200: {
            description: "`text/event-stream`",
            content: { "text/event-stream": { schema: { type: "string" as const } } },
          },
        },
        errors: [401],
        admin: true,
      }),
      admin,
      (c) =>
        streamSSE(c, async (stream) => {
          const queue: RunFeedEvent[] = [];
          let wake: (() => void) | undefined;
          const stop = feed.watch((event) => {
            queue.push(event);
            wake?.();
          });
          const abort = Promise.withResolvers<void>();
          stream.onAbort(() => abort.resolve());
          try {
            await stream.write(": feed open\n\n");
            while (!stream.aborted) {
              const event = queue.shift();
              if (event) {
                await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
                continue;
              }
              const woke = Promise.withResolvers<void>();
              wake = woke.resolve;
              const timer = setTimeout(woke.resolve, SSE_KEEPALIVE_MS);
              await Promise.race([woke.promise, abort.promise]);
              clearTimeout(timer);
              wake = undefined;
              if (queue.length === 0 && !stream.aborted) await stream.write(": keep-alive\n\n");
            }
          } finally {
            stop();
          }
        }),
    )
    .get(
      "/v1/runs",
      doc({
        tags,
        summary: "List runs, newest first",
        description: "Filters: `status`, `blueprint` (id), `q` (text in the run id). Pages: " +
          "pass the answer's `next_before` as `before`. With a filter or cursor the newest " +
          `${RUN_SCAN_MAX} runs are looked through and \`total\` counts the matches.`,
        responses: { 200: json(RunList, "Runs newest first, each as GET /v1/runs/:id shows it.") },
        errors: [400, 401],
        admin: true,
      }),
      admin,
      queryOf(RunListQuery),
      async (c) => c.json(await listRuns(deps, c.req.valid("query")), 200),
    )
    .get(
      "/v1/runs/:id/trace",
      doc({
        tags,
        summary: "Each step of a run with its input and output",
        responses: { 200: json(RunTrace, "The steps in order, with prompt, output and duration.") },
        errors: [401, 404],
        admin: true,
      }),
      admin,
      async (c) => c.json(await traceRun(deps, c.req.param("id")), 200),
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
        const id = c.req.param("id");
        const remote = await deps.cancelRemote?.(id);
        return c.json(remote ?? await deps.engine.cancel(id), 200);
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
        const events = await deps.watchRemote?.(id, after, { signal: watching.signal }) ??
          await deps.engine.watch(id, after, { signal: watching.signal });
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
