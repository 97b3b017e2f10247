/**
 * Requests about runs owned by another instance of the cluster, answered here:
 * the events of such a run are followed from the table (woken by its owner's
 * notes, which it sends once told that someone follows), a worker route is
 * handed to the run's owner, and a cancel is recorded on the run's row and
 * passed to its owner.
 *
 * @module
 */
import type { AppDeps } from "../deps.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { MAX_ASK_WAIT_SECS } from "../protocol/worker.ts";
import { type OpenPgStores, RUN_EVENTS_TOPIC } from "../store/open_pg_stores.ts";

/** Bus topic: cancel this run (its owner does). */
const CANCEL_TOPIC = "cancel_run";

/** How long `DELETE /v1/runs/:id` on a non-owner waits for the owner to end the run, beyond the lease. */
const CANCEL_WAIT_MS = 10_000;

/** How often a follower of a run owned elsewhere reads its events without a notification. */
const FOLLOW_POLL_MS = 1_000;

/** Bus topic: an instance follows this run's events (its owner notifies it of new ones). */
const FOLLOW_TOPIC = "follow_run";

/** How long a follow note holds; a follower says it again before then. */
const FOLLOW_HOLD_MS = 10_000;

/**
 * Sets `deps.watchRemote`, `deps.workerProxy` and `deps.cancelRemote` for the
 * cluster of `stores`. `claimed` resolves once the runs this instance is
 * claiming (if any) are resumed.
 */
export function serveRemoteRuns(
  deps: AppDeps,
  stores: OpenPgStores,
  claimed: () => Promise<unknown>,
): void {
  const { cluster, runs } = stores;
  const { sql, instanceId, leaseSecs } = cluster;

  deps.watchRemote = async (runId, after, { signal }) => {
    if (runs.epochOf(runId) !== undefined) return undefined; // owned here: the engine follows it
    const record = await runs.getRun(runId);
    if (!record || record.status !== "running") return undefined;
    return followRun(runId, after, signal);
  };

  // a worker route reached on an instance that does not own the worker's run: the owner answers
  deps.workerProxy = async (req) => {
    const bearer = req.headers.get("authorization")?.replace(/^Bearer\s+/i, "").trim();
    if (!bearer) return undefined;
    let nonce: string | undefined;
    if (!bearer.startsWith("wh-")) {
      try {
        nonce = deps.tokens.decode(bearer).nonce;
      } catch {
        return undefined; // the route answers it
      }
    }
    const [row] = nonce === undefined
      ? await sql`SELECT r.run_id, r.owner, r.status, i.url FROM sb_tokens t
          JOIN sb_runs r ON r.run_id = t.run_id LEFT JOIN sb_instances i ON i.id = r.owner
          WHERE t.handle = ${bearer}`
      : await sql`SELECT r.run_id, r.owner, r.status, i.url FROM sb_tokens t
          JOIN sb_runs r ON r.run_id = t.run_id LEFT JOIN sb_instances i ON i.id = r.owner
          WHERE t.nonce = ${nonce}`;
    if (!row || row.status !== "running") return undefined;
    if (row.owner === instanceId) {
      // claimed here a moment ago: the route needs the run live, not its stored copy
      // (a result applied to that copy would be lost when the resume reads the journal)
      await claimed();
      return undefined;
    }
    if (runs.epochOf(row.run_id) !== undefined || !row.url) return undefined;
    const target = new URL(req.url);
    const to = new URL(target.pathname + target.search, row.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    // a nested ask may wait up to MAX_ASK_WAIT_SECS on its owner before it answers
    const waits = target.pathname.startsWith("/v1/worker/ask");
    try {
      return await fetch(to, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
        redirect: "manual",
        signal: AbortSignal.timeout(waits ? (MAX_ASK_WAIT_SECS + 30) * 1000 : 30_000),
      });
    } catch {
      throw new SwitchboardError(
        "conflict",
        "the instance running this task did not answer; retry",
      );
    }
  };

  // DELETE /v1/runs/:id on an instance that does not own the run: its owner cancels it
  deps.cancelRemote = async (runId) => {
    if (runs.epochOf(runId) !== undefined) return undefined; // owned here: the engine cancels
    const record = await runs.getRun(runId);
    if (!record || record.status !== "running") return undefined;
    // kept on the row: a dead owner's successor cancels it after the takeover
    await sql`UPDATE sb_runs SET cancel_requested = true
      WHERE run_id = ${runId} AND status = 'running'`;
    await cluster.bus.publish(CANCEL_TOPIC, runId);
    const until = Date.now() + CANCEL_WAIT_MS + leaseSecs * 1000;
    while (Date.now() < until) {
      const now = await runs.getRun(runId);
      if (now && now.status !== "running") {
        const view = await deps.engine.view(runId);
        if (!view) return undefined;
        // the run as its owner's cancel answers it: without the requests a GET lists
        const { requests: _, ...ended } = view;
        return ended;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new SwitchboardError(
      "conflict",
      "the cancel is recorded; the run ends once its owner (or the instance taking it over) acts",
    );
  };
  cluster.bus.on(CANCEL_TOPIC, (runId) => {
    if (runs.epochOf(runId) !== undefined) deps.engine.cancel(runId).catch(() => {});
  });
  cluster.bus.on(FOLLOW_TOPIC, (runId) => {
    if (runs.epochOf(runId) !== undefined) runs.followed(runId, FOLLOW_HOLD_MS);
  });

  /** The stored events of a run owned elsewhere, as they are stored, until it ends. */
  async function* followRun(runId: string, after: number, signal: AbortSignal) {
    let last = after;
    let told = 0;
    while (!signal.aborted) {
      if (Date.now() - told > FOLLOW_HOLD_MS / 2) {
        // the owner notifies followed runs only
        told = Date.now();
        await cluster.bus.publish(FOLLOW_TOPIC, runId).catch(() => {});
      }
      // listen first, then read: a commit between the two still wakes the loop
      const woke = Promise.withResolvers<void>();
      // the id of a `run_events` note lists the runs, space separated
      const stop = cluster.bus.on(
        RUN_EVENTS_TOPIC,
        (ids) => ids.split(" ").includes(runId) && woke.resolve(),
      );
      const timer = setTimeout(woke.resolve, FOLLOW_POLL_MS);
      const onAbort = () => woke.resolve();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        for (const event of await runs.listEvents(runId, last)) {
          yield event;
          last = event.id;
          if (event.type === "run_ended") return;
        }
        await woke.promise;
      } finally {
        stop();
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      }
    }
  }
}
