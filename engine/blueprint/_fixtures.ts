/**
 * The Blueprints of test fixtures A, B, C, C2 and C3 (reference/blueprint.md §5),
 * as sent (tree form), plus B written with text conditions. Unit tests and the
 * HTTP tests in tests/engine share them.
 *
 * @module
 */

const rustFn = (name: string) => ({ name, kind: "rust_fn", spec: { fn_id: name } });
const path = (at: string) => ({ op: "path", at });
const step = (ref: string, from: string, to: string) => ({
  kind: "step",
  ref,
  in: path(from),
  out: path(to),
});

/** Fixture A: a single step. */
export const FIXTURE_A = {
  id: "fx-single-step",
  flow: step("greeter", "$.request", "$.result.greeting"),
  agents: [rustFn("greeter")],
  metadata: { version_label: "1.0.0", default_run_ttl_secs: 60 },
};

/** Fixture B's loop condition, tree form. */
export const LOOP_COND = {
  op: "or",
  operands: [
    { op: "not", operand: { op: "exists", at: "$.verdict" } },
    { op: "eq", lhs: path("$.verdict"), rhs: { op: "lit", value: "BLOCKED" } },
  ],
};
/** Fixture B's branch condition, tree form. */
export const BRANCH_COND = {
  op: "in",
  needle: path("$.verdict"),
  haystack: { op: "lit", value: ["PASS", "ALLOW"] },
};

function fixtureB(loopCond: unknown, branchCond: unknown) {
  return {
    id: "fx-verdict-loop",
    flow: {
      kind: "seq",
      children: [
        step("planner", "$.issue", "$.plan"),
        {
          kind: "loop",
          counter: path("$.n"),
          max: 3,
          cond: loopCond,
          body: {
            kind: "seq",
            children: [step("resolver", "$.plan", "$.fix"), step("gate", "$.fix", "$.verdict")],
          },
        },
        {
          kind: "branch",
          cond: branchCond,
          then: step("merger", "$.fix", "$.commit"),
          else: {
            kind: "seq",
            children: [
              step("escalator", "$.fix", "$.escalated"),
              { kind: "assign", at: path("$.attempts"), value: path("$.n") },
            ],
          },
        },
      ],
    },
    agents: ["planner", "resolver", "gate", "merger", "escalator"].map(rustFn),
  };
}

/** Fixture B: verdict loop and branch. */
export const FIXTURE_B = fixtureB(LOOP_COND, BRANCH_COND);
/** Fixture B with the text-syntax conditions of §5.2. */
export const FIXTURE_B_TEXT = fixtureB(
  "!exists($.verdict) || $.verdict == 'BLOCKED'",
  "$.verdict in ['PASS', 'ALLOW']",
);

const RESEARCH = {
  kind: "seq",
  children: [
    step("researcher", "$.topic", "$.note"),
    {
      kind: "branch",
      cond: { op: "eq", lhs: path("$.topic"), rhs: { op: "lit", value: "b" } },
      then: step("reviewer", "$.note", "$.review"),
      else: { kind: "assign", at: path("$.review"), value: { op: "lit", value: "AUTO_OK" } },
    },
  ],
};

function fixtureC(join: string, out: string, body: unknown, countAt: string) {
  return {
    id: "fx-fanout-try",
    flow: {
      kind: "seq",
      children: [
        {
          kind: "fanout",
          items: path("$.topics"),
          bind: path("$.topic"),
          join,
          out: path(out),
          body,
        },
        { kind: "assign", at: path(countAt), value: { op: "len", of: path(out) } },
      ],
    },
    agents: [rustFn("researcher"), rustFn("reviewer")],
  };
}

const TRY_RESEARCH = {
  kind: "try",
  body: RESEARCH,
  catch: { kind: "assign", at: path("$.review"), value: { op: "lit", value: "SKIPPED" } },
  err_at: path("$.error"),
};

/** Fixture C: fanout with try. */
export const FIXTURE_C = fixtureC("all", "$.notes", TRY_RESEARCH, "$.note_count");
/** Fixture C2: `all_settled` without `try`. */
export const FIXTURE_C2 = fixtureC("all_settled", "$.settled", RESEARCH, "$.settled_count");
/** Fixture C3: `all` without `try` (a failing branch fails the run). */
export const FIXTURE_C3 = fixtureC("all", "$.settled", RESEARCH, "$.settled_count");
