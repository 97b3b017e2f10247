/**
 * Reading runs (SPEC §5): `GET /v1/runs` (newest first, with filters and a
 * cursor), `GET /v1/runs/:id`, its steps (`/trace`), and the live feed of runs
 * starting and ending (`GET /v1/runs/feed`, SSE).
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { RUN_SCAN_MAX, RunInfo, RunList, RunListQuery, RunTrace } from "../protocol/tasks.ts";
import { lastFinal } from "../engine/mod.ts";
import type { RunFeedEvent } from "./_run_feed.ts";
import { adminGuard, queryOf } from "./_http.ts";
import { json } from "./_doc.ts";
import { runDoc, runNotFound, type RunRoutesDeps, SSE_KEEPALIVE_MS } from "./_runs.ts";
import { pageBudget } from "./_page.ts";

/** Runs newest first through the list's filters and cursor, and the total matching. */
async function listRuns(deps: RunRoutesDeps, query: RunListQuery) {
  const { limit, status, blueprint, q, before } = query;
  const budget = pageBudget();
  if (!deps.runs || (!status && !blueprint && !q && !before)) {
    const runs = await deps.engine.list(limit, status, budget.fits);
    // a page cut short by its size goes on after its last run
    return { runs, ...(budget.cut ? { next_before: runs.at(-1)!.run_id } : {}) };
  }
  const records = await deps.runs.listRunHeads({ limit: RUN_SCAN_MAX, status });
  let matching = records.filter((r) =>
    (!blueprint || r.blueprint_id === blueprint) && (!q || r.run_id.includes(q))
  );
  const total = matching.length;
  if (before) {
    const at = matching.findIndex((r) => r.run_id === before);
    matching = at < 0 ? [] : matching.slice(at + 1);
  }
  const page = matching.slice(0, limit);
  const runs = [];
  // ten at a time: a page of large runs is never read whole
  read: for (let i = 0; i < page.length; i += 10) {
    const views = await Promise.all(page.slice(i, i + 10).map((r) => deps.engine.view(r.run_id)));
    for (const view of views) {
      if (view === undefined) continue;
      if (!budget.fits(view)) break read;
      runs.push(view);
    }
  }
  const more = budget.cut || matching.length > limit;
  return { runs, total, ...(more && runs.length > 0 ? { next_before: runs.at(-1)!.run_id } : {}) };
}

/** Each step of a run with its input (the prompt), its output and the ctx after it. */
async function traceRun(deps: RunRoutesDeps, runId: string) {
  const view = await deps.engine.view(runId);
  if (!view) throw runNotFound(runId);
  const stored = new Map(
    (await deps.runs?.listSteps(runId) ?? []).map((s) => [`${s.task_id}#${s.attempt}`, s]),
  );
  const steps = await Promise.all(view.steps.map(async (step) => {
    const task = await deps.engine.task(step.task_id, runId);
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

const RunIdParam = z.object({ id: z.string() });

/**
 * Characters of events a feed reader may leave unread (16 Mi); past it its stream
 * is ended, so a client that never reads cannot make the server keep every run.
 */
export const FEED_MAX_BACKLOG = 16 * 1024 * 1024;

/** Routes that read runs. */
export function runReadRoutes(deps: RunRoutesDeps) {
  const admin = adminGuard(deps.apiToken);
  const feed = deps.runFeed;
  return new Hono()
    .get(
      "/v1/runs/feed",
      runDoc({
        summary: "Follow runs starting and ending (Server-Sent Events)",
        description: "Live only (no replay): read `GET /v1/runs` first. Each event " +
          "(`run_started`, `run_ended`) carries the run as `GET /v1/runs/:id` shows it. " +
          "Past `SWITCHBOARD_MAX_STREAMS` open streams a new one answers 503.",
        responses: {
          200: {
            description: "`text/event-stream`",
            content: { "text/event-stream": { schema: { type: "string" as const } } },
          },
        },
        errors: [401, 503],
      }),
      admin,
      (c) => {
        let end = () => {};
        const release = deps.streams?.take(() => end()) ?? (() => {});
        return streamSSE(c, async (stream) => {
          end = () => stream.abort(); // a shutdown ends the stream
          // events not yet taken by the client, as the text they are sent as
          const queue: { type: RunFeedEvent["type"]; data: string }[] = [];
          let queued = 0;
          let wake: (() => void) | undefined;
          const stop = feed.watch((event) => {
            if (stream.aborted) return;
            const data = JSON.stringify(event);
            queued += data.length;
            if (queued > FEED_MAX_BACKLOG) {
              // a reader that does not keep up is let go (it reads GET /v1/runs again)
              stop();
              queue.length = 0;
              stream.abort();
            } else queue.push({ type: event.type, data });
            wake?.();
          });
          const abort = Promise.withResolvers<void>();
          stream.onAbort(() => abort.resolve());
          try {
            await stream.write(": feed open\n\n");
            while (!stream.aborted) {
              const event = queue.shift();
              if (event) {
                queued -= event.data.length;
                await stream.writeSSE({ event: event.type, data: event.data });
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
            release();
            stop();
          }
        });
      },
    )
    .get(
      "/v1/runs",
      runDoc({
        summary: "List runs, newest first",
        description: "Filters: `status`, `blueprint` (id), `q` (text in the run id). Pages: " +
          "pass the answer's `next_before` as `before`. With a filter or cursor the newest " +
          `${RUN_SCAN_MAX} runs are looked through and \`total\` counts the matches. A page ` +
          "whose JSON would pass 16 Mi characters ends early, with `next_before`.",
        responses: { 200: json(RunList, "Runs newest first, each as GET /v1/runs/:id shows it.") },
        errors: [400, 401],
      }),
      admin,
      queryOf(RunListQuery),
      async (c) => c.json(await listRuns(deps, c.req.valid("query")), 200),
    )
    .get(
      "/v1/runs/:id/trace",
      runDoc({
        summary: "Each step of a run with its input and output",
        responses: { 200: json(RunTrace, "The steps in order, with prompt, output and duration.") },
        errors: [401, 404],
      }),
      admin,
      async (c) => c.json(await traceRun(deps, c.req.param("id")), 200),
    )
    .get(
      "/v1/runs/:id",
      runDoc({
        summary: "Read a run",
        responses: { 200: json(RunInfo, "Status, steps, and final_ctx or error.") },
        errors: [401, 404],
      }),
      admin,
      async (c) => {
        const view = await deps.engine.view(RunIdParam.parse(c.req.param()).id);
        if (!view) throw runNotFound(c.req.param("id"));
        return c.json(view, 200);
      },
    );
}
