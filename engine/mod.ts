/**
 * The engine's one door: start, resume, view, list, cancel, watch, prompt,
 * postResult and stats. Routes, boot and tests use nothing else of a run.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDeps } from "../deps.ts";
 * import { prepareRun } from "./mod.ts";
 *
 * const deps = await createDeps();
 * const request = await prepareRun({ ...deps, blueprints: deps.stores.blueprints, warn() {} }, {
 *   blueprint: { kind: "id", id: "main" },
 *   init_ctx: {},
 * });
 * const run = deps.engine.start(request);
 * assert.equal((await run.done).status, "succeeded");
 * ```
 *
 * @module
 */
export {
  createEngine,
  type Engine,
  type EngineDeps,
  type EngineStats,
  MAX_TTL_SECS,
  newRunId,
  type StartedRun,
  type StartRunRequest,
} from "./engine.ts";
export type { RunView } from "./views.ts";
export type { PostedResult } from "./worker_results.ts";
export { CompileError } from "./compile.ts";
export { lastFinal } from "./tasks.ts";
export { type PrepareEnv, prepareRun, UnheldSeatError } from "./prepare_run.ts";
export { isTerminal } from "./tasks.ts";
export { compileAnswerSchemas } from "./answer_check.ts";
