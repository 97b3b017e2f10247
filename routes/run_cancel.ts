/**
 * `DELETE /v1/runs/:id`: cancels a run, here or (in a cluster) on the instance
 * that owns it (SPEC §5).
 *
 * @module
 */
import { Hono } from "hono";
import { RunInfo } from "../protocol/tasks.ts";
import { adminGuard } from "./_http.ts";
import { json } from "./_doc.ts";
import { runDoc, type RunRoutesDeps } from "./_runs.ts";

/** The route that cancels runs. */
export function runCancelRoutes(deps: RunRoutesDeps) {
  const admin = adminGuard(deps.apiToken);
  return new Hono()
    .delete(
      "/v1/runs/:id",
      runDoc({
        summary: "Cancel a run",
        description: "Pending operator requests get `cancel{run_ended}` and the run's tokens " +
          "stop working. Answers the run as it ended. 410 when it had already ended.",
        responses: { 200: json(RunInfo, "The cancelled run.") },
        errors: [401, 404, 410],
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        const remote = await deps.cancelRemote?.(id);
        return c.json(remote ?? await deps.engine.cancel(id), 200);
      },
    );
}
