/**
 * The asynchronous flow evaluator (reference/blueprint.md §2.5, flow-ir 0.0.5
 * semantics with the TS decisions). Flow values are immutable: a write builds a
 * new ctx that shares everything but the objects on the written path, so fanout
 * branches, `try` snapshots and results share structure instead of copying it.
 * Values are copied only where they cross to the dispatcher and back. The run's
 * budgets (`budget.ts`) are checked at each write, and the evaluator lets the
 * event loop run at least every {@link SLICE_MS} ms.
 *
 * @module
 */
import type { AskNodeNorm, FlowNodeNorm } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import {
  copyJson,
  type CopyWatch,
  directiveText,
  evalExpr,
  evaluateExpr,
  FLOW_ENV,
  FlowError,
  isTruthy,
  previewJson,
  writeShared,
} from "../expr/mod.ts";
import {
  budgetError,
  checkCtx,
  checkHistory,
  checkValue,
  DEFAULT_BUDGETS,
  type RunBudgets,
  SLICE_MS,
} from "./budget.ts";
import { StepError } from "./step_error.ts";
import { abortable, yieldToEventLoop } from "../abortable.ts";
import { joinBranches } from "./_join.ts";

/** One step execution handed to the dispatcher. */
export type StepRequest = {
  /** The step's `ref` (the agent name). */
  ref: string;
  /** The evaluated `in` value (a private copy). */
  input: Json;
  /** `input` as directive text: a string verbatim, anything else as compact JSON. */
  directive: string;
  /** The step execution's deterministic key (see the module docs of `mod.ts`). */
  key: string;
  /** Aborts when the run is cancelled or the step's fanout branch is abandoned. */
  signal: AbortSignal;
};

/** Runs one step: resolves with its pass value, or throws `StepError` to fail it. */
export type Dispatch = (req: StepRequest) => Promise<Json>;

/** One `ask` node handed to the ask capability. */
export type AskRequest = {
  /** The node: `to`, `schema`, `timeout_secs`, `on_timeout`. */
  node: AskNodeNorm;
  /** The evaluated `question` (a private copy). */
  question: Json;
  /** The node's key, made like a step's (see `mod.ts`). */
  key: string;
  signal: AbortSignal;
};

/** Asks a person: resolves with the answer, or throws `StepError` to fail the node. */
export type Ask = (req: AskRequest) => Promise<Json>;

/** What {@link EvalFlowOptions.afterStep} learns about a finished step. */
export type AfterStepInfo = {
  key: string;
  ref: string;
  /** The scope's ctx, the result already written. Immutable: keep it, never mutate it. */
  ctx: Json;
  /** Whether the scope is the run's root ctx (not a fanout branch copy). */
  root: boolean;
};

/** Options of {@link evalFlow}. */
export interface EvalFlowOptions {
  /** Runs the steps. */
  dispatch: Dispatch;
  /** Answers `ask` nodes; a flow with an `ask` node fails without it. */
  ask?: Ask;
  /** Cancels the run: evaluation stops and rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * True when `dispatch` and `ask` settle as soon as their request's signal
   * aborts (the engine's do). The flow then awaits them as they are, instead of
   * racing each against its signal: a run parked on a step would hold that race
   * (a promise, its callbacks and an abort listener) as long as it waits.
   */
  settlesOnAbort?: boolean;
  /** Called (and awaited) after each step's result is written into its scope's ctx. */
  afterStep?: (info: AfterStepInfo) => void | Promise<void>;
  /** The run's budgets; missing ones take {@link DEFAULT_BUDGETS}. */
  budgets?: Partial<RunBudgets>;
}

const ABANDONED = "fanout branch abandoned by its join";

type Run = {
  dispatch: Dispatch;
  ask?: Ask;
  afterStep?: EvalFlowOptions["afterStep"];
  budgets: Readonly<RunBudgets>;
  /** Loop passes and step executions so far; fanout branches alive now. */
  iterations: number;
  steps: number;
  branches: number;
  /** Keys the live fanout branches hold copies of (each branch's {@link Scope.width}). */
  branchKeys: number;
  /** Bytes of the inputs and outputs of its steps and asks so far (its history). */
  historyBytes: number;
  /** When the evaluator last let the event loop run (`performance.now()`). */
  sliceStart: number;
  /** The event-loop turn every branch of the run waits for, while one is pending. */
  turn?: Promise<void>;
  /** Steps and asks are raced against their signal (see `settlesOnAbort`). */
  race: boolean;
};

/** `width`: the most keys one write of this fanout branch copied (0 for the root ctx). */
type Scope = {
  ctx: Json;
  root: boolean;
  signal: AbortSignal;
  cancellable: boolean;
  width: number;
};

/** The budgets of each `budgets` option given, completed once (runs share them, unchanged). */
const completed = new WeakMap<Partial<RunBudgets>, Readonly<RunBudgets>>();

function fullBudgets(given: Partial<RunBudgets> | undefined): Readonly<RunBudgets> {
  if (given === undefined) return DEFAULT_BUDGETS;
  let full = completed.get(given);
  if (!full) completed.set(given, full = Object.freeze({ ...DEFAULT_BUDGETS, ...given }));
  return full;
}

/**
 * Evaluates a normalized flow from a copy of `ctx` and resolves with the final
 * ctx. Rejects with a `FlowError` for an uncaught evaluation or step error, with
 * `options.signal.reason` when cancelled, and with anything else the dispatcher
 * throws that is not a `StepError`, unchanged.
 */
export function evalFlow(
  node: FlowNodeNorm,
  ctx: Json,
  options: EvalFlowOptions,
): Promise<Json> {
  // Not an async function: a run parked on a step holds no suspended frame of it.
  try {
    const signal = options.signal ?? new AbortController().signal;
    if (signal.aborted) throw signal.reason;
    const run: Run = {
      dispatch: options.dispatch,
      ask: options.ask,
      afterStep: options.afterStep,
      budgets: fullBudgets(options.budgets),
      iterations: 0,
      steps: 0,
      branches: 0,
      branchKeys: 0,
      historyBytes: 0,
      sliceStart: performance.now(),
      race: !options.settlesOnAbort,
    };
    const start = copyJson(ctx);
    checkCtx(start, run.budgets);
    const scope: Scope = {
      ctx: start,
      root: true,
      signal,
      cancellable: options.signal !== undefined && run.race,
      width: 0,
    };
    return exec(node, scope, "", run).then(() => scope.ctx);
  } catch (err) {
    return Promise.reject(err); // as the async form would
  }
}

// `ptr` is the node's JSON pointer in the flow document, with `~<n>` after each
// loop or fanout `/body`.
async function exec(node: FlowNodeNorm, scope: Scope, ptr: string, run: Run): Promise<void> {
  if (scope.signal.aborted) throw scope.signal.reason;
  if (performance.now() - run.sliceStart >= SLICE_MS) await nextTurn(run, scope.signal);
  switch (node.kind) {
    case "step":
      return step(node, scope, ptr, run); // no await: no suspended frame of exec a parked step
    case "seq":
      for (let i = 0; i < node.children.length; i++) {
        await exec(node.children[i], scope, `${ptr}/children/${i}`, run);
      }
      return;
    case "branch": {
      const cond = evaluateExpr(node.cond, scope.ctx, FLOW_ENV);
      if (typeof cond !== "boolean") {
        throw new FlowError(`branch cond must be boolean, got: ${previewJson(cond)}`, "condition");
      }
      return await exec(cond ? node.then : node.else, scope, ptr + (cond ? "/then" : "/else"), run);
    }
    case "loop": {
      write(scope, node.counter.at, 0, run);
      for (let n = 0; n < node.max;) {
        if (!isTruthy(evaluateExpr(node.cond, scope.ctx, FLOW_ENV))) return;
        if (++run.iterations > run.budgets.maxLoopIterations) {
          throw budgetError(
            "too many loop passes in this run",
            run.budgets.maxLoopIterations,
            "SWITCHBOARD_RUN_MAX_LOOP_ITERATIONS",
          );
        }
        await exec(node.body, scope, `${ptr}/body~${n}`, run);
        n++;
        write(scope, node.counter.at, n, run);
      }
      return;
    }
    case "fanout":
      return await fanout(node, scope, ptr, run);
    case "try": {
      const snapshot = scope.ctx; // immutable: the body's writes build new ctxs
      try {
        await exec(node.body, scope, `${ptr}/body`, run);
      } catch (error) {
        if (scope.signal.aborted) throw scope.signal.reason;
        if (!(error instanceof FlowError) || error.kind === "budget") throw error;
        scope.ctx = snapshot;
        if (node.err_at) write(scope, node.err_at.at, error.message, run);
        await exec(node.catch, scope, `${ptr}/catch`, run);
      }
      return;
    }
    case "assign": {
      const value = evalExpr(node.value, scope.ctx);
      checkValue("the assigned value", value, run.budgets);
      write(scope, node.at.at, value, run);
      return;
    }
    case "ask":
      return await ask(node, scope, ptr, run);
  }
}

/**
 * Lets the event loop run once for the whole run: concurrent fanout branches
 * share one turn (each taking its own would let them all resume in one timers
 * phase, back to back, with no I/O in between), and the slice restarts after it.
 */
async function nextTurn(run: Run, signal: AbortSignal): Promise<void> {
  run.turn ??= yieldToEventLoop(new AbortController().signal).then(() => {
    run.sliceStart = performance.now();
    run.turn = undefined;
  });
  await abortable(run.turn, signal);
}

/** Writes `value` at `at` in the scope's ctx, within the ctx, write-keys and branch-keys budgets. */
function write(scope: Scope, at: string, value: Json, run: Run): void {
  const copied = copyWatch(run);
  const next = writeShared(scope.ctx, at, value, copied);
  if (scope.root) {
    checkCtx(next, run.budgets);
    scope.ctx = next;
    return;
  }
  if (copied.keys > scope.width) {
    checkBranchKeys(run, copied.keys - scope.width);
    run.branchKeys += copied.keys - scope.width;
    scope.width = copied.keys;
  }
  checkCtx(next, run.budgets);
  scope.ctx = next;
}

/** Counts the keys a write copies, and refuses to copy an object wider than the run's budget. */
function copyWatch(run: Run): CopyWatch {
  return {
    keys: 0,
    wide(keys) {
      if (keys > run.budgets.maxWriteKeys) {
        throw budgetError(
          `a write would copy an object of ${keys} keys`,
          run.budgets.maxWriteKeys,
          "SWITCHBOARD_RUN_MAX_WRITE_KEYS",
        );
      }
    },
  };
}

/** Throws a `budget` error when `more` keys would pass the run's branch-keys budget. */
function checkBranchKeys(run: Run, more: number): void {
  if (run.branchKeys + more > run.budgets.maxBranchKeys) {
    throw budgetError(
      `fanout branches would hold copies of ${run.branchKeys + more} object keys`,
      run.budgets.maxBranchKeys,
      "SWITCHBOARD_RUN_MAX_BRANCH_KEYS",
    );
  }
}

async function ask(node: AskNodeNorm, scope: Scope, ptr: string, run: Run): Promise<void> {
  const key = ptr === "" ? "/" : ptr;
  if (!run.ask) throw new FlowError(`ask node ${key}: this flow runs without an ask capability`);
  if (++run.steps > run.budgets.maxSteps) {
    throw budgetError(
      "too many steps in this run",
      run.budgets.maxSteps,
      "SWITCHBOARD_RUN_MAX_STEPS",
    );
  }
  const shared = evalExpr(node.question, scope.ctx);
  const asked = checkValue(`the question of the ask to '${node.to}'`, shared, run.budgets);
  run.historyBytes = checkHistory(run.historyBytes, asked, run.budgets);
  const question = copyJson(shared); // the capability gets a private copy
  const { signal } = scope;
  let value: Json;
  try {
    const pending = run.ask({ node, question, key, signal });
    value = await (scope.cancellable ? abortable(pending, signal) : pending);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof StepError) {
      throw new FlowError(`ask to '${node.to}': ${error.message}`, "step", { cause: error });
    }
    throw error;
  }
  run.sliceStart = performance.now(); // the ask awaited: the event loop ran
  if (signal.aborted) throw signal.reason;
  if (value === undefined) throw new TypeError(`ask for node ${key} resolved with undefined`);
  const answered = checkValue(`the answer of the ask to '${node.to}'`, value, run.budgets);
  run.historyBytes = checkHistory(run.historyBytes, answered, run.budgets);
  write(scope, node.out.at, copyJson(value), run);
  if (run.afterStep) await run.afterStep({ key, ref: node.to, ctx: scope.ctx, root: scope.root });
}

async function step(
  node: Extract<FlowNodeNorm, { kind: "step" }>,
  scope: Scope,
  ptr: string,
  run: Run,
): Promise<void> {
  if (++run.steps > run.budgets.maxSteps) {
    throw budgetError(
      "too many steps in this run",
      run.budgets.maxSteps,
      "SWITCHBOARD_RUN_MAX_STEPS",
    );
  }
  const shared = evalExpr(node.in, scope.ctx);
  const given = checkValue(`the input of step '${node.ref}'`, shared, run.budgets);
  run.historyBytes = checkHistory(run.historyBytes, given, run.budgets);
  const input = copyJson(shared); // the dispatcher gets a private copy
  const key = ptr === "" ? "/" : ptr;
  const { signal } = scope;
  let value: Json;
  try {
    const pending = run.dispatch({
      ref: node.ref,
      input,
      directive: directiveText(input),
      key,
      signal,
    });
    value = await (scope.cancellable ? abortable(pending, signal) : pending);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof StepError) {
      throw new FlowError(`dispatcher error for ref '${node.ref}': ${error.message}`, "step", {
        cause: error,
      });
    }
    throw error;
  }
  if (signal.aborted) throw signal.reason;
  if (value === undefined) throw new TypeError(`dispatch for step ${key} resolved with undefined`);
  const got = checkValue(`the output of step '${node.ref}'`, value, run.budgets);
  run.historyBytes = checkHistory(run.historyBytes, got, run.budgets);
  write(scope, node.out.at, copyJson(value), run);
  if (run.afterStep) await run.afterStep({ key, ref: node.ref, ctx: scope.ctx, root: scope.root });
}

async function fanout(
  node: Extract<FlowNodeNorm, { kind: "fanout" }>,
  scope: Scope,
  ptr: string,
  run: Run,
): Promise<void> {
  const items = evalExpr(node.items, scope.ctx);
  if (!Array.isArray(items)) {
    throw new FlowError(`type error in fanout.items: expected array, got ${previewJson(items)}`);
  }
  checkValue("the fanout items", items, run.budgets);
  if (items.length > run.budgets.maxFanout) {
    throw budgetError(
      `a fanout over ${items.length} items`,
      run.budgets.maxFanout,
      "SWITCHBOARD_RUN_MAX_FANOUT",
    );
  }
  if (run.branches + items.length > run.budgets.maxBranches) {
    throw budgetError(
      `${run.branches + items.length} fanout branches at once`,
      run.budgets.maxBranches,
      "SWITCHBOARD_RUN_MAX_BRANCHES",
    );
  }
  let result: Json = [];
  if (items.length > 0) {
    // The join abandons every pending branch at once, so one signal serves them all.
    const abandoned = new AbortController();
    const signal = AbortSignal.any([scope.signal, abandoned.signal]);
    // every branch copies the same objects (the bind path's): count them once, first
    const copied = copyWatch(run);
    const first = writeShared(scope.ctx, node.bind.at, items[0], copied);
    checkBranchKeys(run, copied.keys * items.length);
    const branches: Scope[] = items.map((item, i) => ({
      ctx: i === 0 ? first : writeShared(scope.ctx, node.bind.at, item),
      root: false,
      signal,
      cancellable: run.race,
      width: copied.keys,
    }));
    run.branches += items.length;
    run.branchKeys += copied.keys * items.length;
    try {
      const runs = branches.map(async (branch, i) => {
        await exec(node.body, branch, `${ptr}/body~${i}`, run);
        return branch.ctx;
      });
      const abandon = () => abandoned.abort(new DOMException(ABANDONED, "AbortError"));
      result = await joinBranches(node.join, runs, abandon);
    } finally {
      run.branches -= items.length;
      for (const branch of branches) run.branchKeys -= branch.width;
    }
  }
  if (scope.signal.aborted) throw scope.signal.reason;
  write(scope, node.out.at, result, run);
}
