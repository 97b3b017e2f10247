/**
 * A run as the API shows it (`GET /v1/runs/:id`), rendered from its record and steps.
 *
 * @module
 */
import type { RunInfo } from "../protocol/tasks.ts";
import type { RunRecord, StepRecord } from "../protocol/runs.ts";

/** A run as `GET /v1/runs/:id` shows it. */
export type RunView = RunInfo;

const iso = (ms: number) => new Date(ms).toISOString();

/** Renders a run record and its steps for the API. */
export function runView(record: RunRecord, steps: readonly StepRecord[]): RunView {
  const view: RunView = {
    run_id: record.run_id,
    status: record.status,
    blueprint_id: record.blueprint.id,
    created_at: iso(record.created_at),
    bound_version: record.bound_version,
    effective_ttl_secs: record.effective_ttl_secs,
    ttl_source: record.ttl_source,
    steps: steps.map((s) => ({
      task_id: s.task_id,
      agent: s.agent,
      attempt: s.attempt,
      verdict: s.verdict,
      started_at: iso(s.started_at),
      ...(s.finished_at === undefined ? {} : { finished_at: iso(s.finished_at) }),
    })),
  };
  if (record.finished_at !== undefined) view.finished_at = iso(record.finished_at);
  view.init_ctx = record.init_ctx;
  if (record.final_ctx !== undefined) view.final_ctx = record.final_ctx;
  if (record.error !== undefined) view.error = record.error;
  return view;
}
