/**
 * The flow evaluator: runs a normalized flow (reference/blueprint.md §2.5) against
 * a ctx, handing each step to a dispatcher.
 *
 * **Step keys.** Every step execution gets a key that is deterministic and unique
 * within a run, so a journal can answer already-finished steps when a run is
 * replayed. The key is the JSON pointer of the step node inside the flow document
 * (`/children/1/then`, `/body`, `/catch`, …; a root step is `/`), where every
 * traversal into a `loop` body appends `~<iteration>` (0-based) right after
 * `/body`, and every traversal into a `fanout` body appends `~<item index>` there.
 * In fixture B the resolver runs as `/children/1/body~0/children/0`, then
 * `/children/1/body~1/children/0`, …; a fanout at `/body` of a loop at the root
 * gives its branch steps keys like `/body~2/body~0`.
 *
 * **Errors.** Evaluation and step failures are `FlowError`s (catchable by `try`);
 * a dispatcher fails a step by throwing {@link StepError}, which becomes
 * `dispatcher error for ref '<ref>': <detail>`. Cancellation rejects with the
 * signal's reason, unwrapped and never caught by `try`.
 *
 * **Budgets.** A run's ctx size, value size, loop passes, fanout width and step
 * count are bounded (`RunBudgets`); passing one fails the run with a `FlowError`
 * of kind `budget` that no `try` catches. The evaluator yields to the event loop
 * whenever it has worked for 10 ms.
 *
 * **Fanout.** Branches run concurrently on ctxs that share structure (flow values
 * are immutable). Each branch has its own
 * abort signal (chained to the run's); branches a join abandons (after a failure
 * under `all`, after the winner under `any`/`race`) are aborted and never write.
 *
 * @example Running fixture A
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalFlow } from "./mod.ts";
 * const calls: string[] = [];
 * const final = await evalFlow(
 *   {
 *     kind: "step",
 *     ref: "greeter",
 *     in: { op: "path", at: "$.request" },
 *     out: { op: "path", at: "$.result.greeting" },
 *   },
 *   { request: { name: "world", lang: "en" } },
 *   {
 *     dispatch: ({ directive, key }) => {
 *       calls.push(`${key} ${directive}`);
 *       return Promise.resolve("hello world");
 *     },
 *   },
 * );
 * assert.deepEqual(calls, ['/ {"lang":"en","name":"world"}']);
 * assert.deepEqual(final, {
 *   request: { name: "world", lang: "en" },
 *   result: { greeting: "hello world" },
 * });
 * ```
 *
 * @module
 */
export {
  type AfterStepInfo,
  type Ask,
  type AskRequest,
  type Dispatch,
  evalFlow,
  type EvalFlowOptions,
  type StepRequest,
} from "./eval_flow.ts";
export { StepError } from "./step_error.ts";
export { DEFAULT_BUDGETS, type RunBudgets } from "./budget.ts";
export { FlowError } from "../expr/mod.ts";
