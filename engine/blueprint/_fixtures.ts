/**
 * The Blueprints of test fixtures A, B, C and C2 (reference/blueprint.md §5), as
 * sent (tree form), plus B written with text conditions.
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

const LOOP_COND = {
  op: "or",
  operands: [
    { op: "not", operand: { op: "exists", at: "$.verdict" } },
    { op: "eq", lhs: path("$.verdict"), rhs: { op: "lit", value: "BLOCKED" } },
  ],
};
const BRANCH_COND = {
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

/** Fixture C: fanout with try. */
export const FIXTURE_C = {
  id: "fx-fanout-try",
  flow: {
    kind: "seq",
    children: [
      {
        kind: "fanout",
        items: path("$.topics"),
        bind: path("$.topic"),
        join: "all",
        out: path("$.notes"),
        body: {
          kind: "try",
          body: RESEARCH,
          catch: { kind: "assign", at: path("$.review"), value: { op: "lit", value: "SKIPPED" } },
          err_at: path("$.error"),
        },
      },
      {
        kind: "assign",
        at: path("$.note_count"),
        value: { op: "len", of: path("$.notes") },
      },
    ],
  },
  agents: [rustFn("researcher"), rustFn("reviewer")],
};

/** Fixture C2: `all_settled` without `try`. */
export const FIXTURE_C2 = {
  ...FIXTURE_C,
  flow: {
    kind: "seq",
    children: [
      {
        kind: "fanout",
        items: path("$.topics"),
        bind: path("$.topic"),
        join: "all_settled",
        out: path("$.settled"),
        body: RESEARCH,
      },
      {
        kind: "assign",
        at: path("$.settled_count"),
        value: { op: "len", of: path("$.settled") },
      },
    ],
  },
};
