/**
 * Starting runs (SPEC §5): `POST /v1/tasks` (a run plus a wait, the 0.1.2
 * contract), `POST /v1/runs` (with the run's own seats) and
 * `POST /v1/runs/:id/rerun`.
 *
 * @module
 */
import { Hono } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";
import { RunAccepted, TaskBody, TaskResult } from "../protocol/tasks.ts";
import type { RunRecord } from "../protocol/runs.ts";
import { adminGuard, assertRunRoom, assertStorageRoom, jsonBody, requireJson } from "./_http.ts";
import { json } from "./_doc.ts";
import { checkTaskBody, explainTaskBody, inlineAsSent } from "./_task_body.ts";
import { runDoc, runNotFound, type RunRoutesDeps } from "./_runs.ts";
import { launchRun, startRun } from "./_start_run.ts";

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

/** Routes that start runs. */
export function runStartRoutes(deps: RunRoutesDeps) {
  const admin = adminGuard(deps.apiToken);
  return new Hono()
    .post(
      "/v1/tasks",
      runDoc({
        summary: "Run a Blueprint and wait for it (0.1.2)",
        description: "Synchronous: answers when the run ends. If the client goes away the run " +
          "goes on; read it from `/v1/runs`. Every failure after body parsing is 400, but " +
          "an invalid Blueprint id, which is 404.",
        responses: { 200: json(TaskResult, "The run succeeded.") },
        errors: [400, 401, 404, 413, 415, 422, 503, 507],
      }),
      admin,
      requireJson,
      jsonBody(TaskBody, checkTaskBody, explainTaskBody),
      async (c) => {
        const body = inlineAsSent(c.req.valid("json"), await c.req.json());
        if (body.seats !== undefined) {
          throw new SwitchboardError(
            "bad_request",
            "seats: a run's own seats need POST /v1/runs (their tokens come back in its 202)",
          );
        }
        const { run } = await startRun(deps, body);
        c.set("runId", run.run_id);
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
      runDoc({
        summary: "Start a run without waiting",
        description: "Takes the body of `POST /v1/tasks`. Compile errors answer 400 at once. " +
          "`seats: [{role}]` mints seats for this run alone (scoped to it, deleted when it " +
          "ends); the 202 returns them as `seats: [{sid, token, role}]`.",
        responses: { 202: json(RunAccepted, "The run started.") },
        errors: [400, 401, 404, 413, 415, 422, 503, 507],
      }),
      admin,
      requireJson,
      jsonBody(TaskBody, checkTaskBody, explainTaskBody),
      async (c) => {
        const body = inlineAsSent(c.req.valid("json"), await c.req.json());
        const { run, seats } = await startRun(deps, body);
        c.set("runId", run.run_id);
        await run.durable; // the 202 confirms a run that survives a restart; the run goes on meanwhile
        const accepted: RunAccepted = { run_id: run.run_id, status: run.status };
        if (seats) accepted.seats = seats;
        return c.json(accepted, 202);
      },
    )
    .post(
      "/v1/runs/:id/rerun",
      runDoc({
        summary: "Start a run again with the same Blueprint, input and options",
        description: "Takes the Blueprint version, `init_ctx`, TTL and operator options of " +
          "run `:id` (ended or not) and starts a new run with them.",
        responses: { 202: json(RunAccepted, "The new run started.") },
        errors: [400, 401, 404, 503, 507],
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        const record = await deps.runs?.getRun(id);
        if (!record) throw runNotFound(id);
        assertStorageRoom(deps.storage);
        assertRunRoom(deps.engine.stats(), deps.liveRuns, record.init_ctx);
        const run = launchRun(deps, {
          blueprint: record.blueprint,
          boundVersion: record.bound_version,
          initCtx: record.init_ctx,
          ttlSecs: record.effective_ttl_secs,
          ttlSource: record.ttl_source,
          operator: record.operator,
        });
        await run.durable; // as for POST /v1/runs: the 202 confirms a durable start
        return c.json({ run_id: run.run_id, status: run.status }, 202);
      },
    );
}
