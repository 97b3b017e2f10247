/**
 * Every expression-syntax row of reference/blueprint.md §5.4, shared by the
 * expression unit tests and the end-to-end Blueprint tests.
 *
 * @module
 */
import type { ExprNode } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";

/** A `path` node. */
export const path = (at: string): ExprNode => ({ op: "path", at });
/** A `lit` node. */
export const lit = (value: Json): ExprNode => ({ op: "lit", value });
/** Fixture B's loop condition (row 2), tree form. */
export const FIXTURE_B_LOOP_COND: ExprNode = {
  op: "or",
  operands: [
    { op: "not", operand: { op: "exists", at: "$.verdict" } },
    { op: "eq", lhs: path("$.verdict"), rhs: lit("BLOCKED") },
  ],
};

/**
 * One row: the text, its tree (absent for a syntax error), a ctx, and the value
 * or the error text. `branchError` is what the value gives as a branch cond.
 */
export type SpecRow = {
  n: string;
  text: string;
  tree?: ExprNode;
  ctx?: Json;
  result?: Json;
  error?: string;
  branchError?: string;
};

/** reference/blueprint.md §5.4, every row. */
export const SPEC_ROWS: SpecRow[] = [
  {
    n: "1",
    text: '$.verdict == "PASS"',
    tree: { op: "eq", lhs: path("$.verdict"), rhs: lit("PASS") },
    ctx: { verdict: "PASS" },
    result: true,
  },
  {
    n: "2",
    text: "!exists($.verdict) || $.verdict == 'BLOCKED'",
    tree: FIXTURE_B_LOOP_COND,
    ctx: {},
    result: true,
  },
  {
    n: "3",
    text: '$.n < 3 && $.verdict in ["BLOCKED", "RETRY"]',
    tree: {
      op: "and",
      operands: [
        { op: "lt", lhs: path("$.n"), rhs: lit(3) },
        { op: "in", needle: path("$.verdict"), haystack: lit(["BLOCKED", "RETRY"]) },
      ],
    },
    ctx: { n: 1, verdict: "RETRY" },
    result: true,
  },
  {
    n: "4",
    text: "len($.notes) * 2 + 1",
    tree: {
      op: "add",
      lhs: { op: "mul", lhs: { op: "len", of: path("$.notes") }, rhs: lit(2) },
      rhs: lit(1),
    },
    ctx: { notes: [{}, {}] },
    result: 5,
  },
  {
    n: "5",
    text: '$["mock-gate"].verdict != null',
    tree: { op: "ne", lhs: path("$.mock-gate.verdict"), rhs: lit(null) },
    ctx: { "mock-gate": { verdict: null } },
    result: false,
  },
  {
    n: "6",
    text: "1 + 1 == 2",
    tree: { op: "eq", lhs: { op: "add", lhs: lit(1), rhs: lit(1) }, rhs: lit(2) },
    ctx: {},
    result: true,
  },
  { n: "7a", text: "-2", tree: lit(-2), ctx: { x: 5 }, result: -2 },
  {
    n: "7b",
    text: "-$.x",
    tree: { op: "sub", lhs: lit(0), rhs: path("$.x") },
    ctx: { x: 5 },
    result: -5,
  },
  {
    n: "8",
    text: "!$.a == 1",
    tree: { op: "not", operand: { op: "eq", lhs: path("$.a"), rhs: lit(1) } },
    ctx: { a: 1 },
    result: false,
  },
  {
    n: "9",
    text: 'if($.n >= 3, "stop", "go")',
    tree: {
      op: "if",
      cond: { op: "ge", lhs: path("$.n"), rhs: lit(3) },
      then: lit("stop"),
      else: lit("go"),
    },
    ctx: { n: 3 },
    result: "stop",
  },
  {
    n: "10",
    text: 'coalesce($.missing, $.fallback, "none")',
    tree: { op: "coalesce", operands: [path("$.missing"), path("$.fallback"), lit("none")] },
    ctx: { fallback: null },
    result: "none",
  },
  {
    n: "11",
    text: '{"directive": $.plan, "intent": "fix"}',
    tree: { op: "object", fields: { directive: path("$.plan"), intent: lit("fix") } },
    ctx: { plan: "P" },
    result: { directive: "P", intent: "fix" },
  },
  { n: "12", text: "[\"a\", 'b']", tree: lit(["a", "b"]), ctx: {}, result: ["a", "b"] },
  {
    n: "13",
    text: 'concat("n=", $.n)',
    tree: { op: "concat", operands: [lit("n="), path("$.n")] },
    ctx: { n: 3 },
    result: "n=3",
  },
  {
    n: "14",
    text: "$.items[0].name",
    tree: path("$.items[0].name"),
    ctx: { items: [{ name: "x" }] },
    result: "x",
  },
  { n: "15", text: "$.a ==", error: "expression syntax error at 7: unexpected end of input" },
  {
    n: "16",
    text: "$.a < $.b < $.c",
    error: "expression syntax error at 11: comparison operators cannot be chained",
  },
  { n: "17", text: "$foo", error: "expression syntax error at 2: expected '.' or '[' after '$'" },
  {
    n: "18",
    text: '$.x > "a"',
    tree: { op: "gt", lhs: path("$.x"), rhs: lit("a") },
    ctx: { x: 1 },
    error: 'type error in gt: expected number, got "a"',
  },
  {
    n: "19",
    text: "1 / 0",
    tree: { op: "div", lhs: lit(1), rhs: lit(0) },
    ctx: {},
    error: "arithmetic error in div: division by zero",
  },
  // Row 20 is `$.n` as a branch cond: the value is 1, and a branch refuses it.
  {
    n: "20",
    text: "$.n",
    tree: path("$.n"),
    ctx: { n: 1 },
    result: 1,
    branchError: "branch cond must be boolean, got: 1",
  },
  {
    n: "21",
    text: "exists($.a)",
    tree: { op: "exists", at: "$.a" },
    ctx: { a: null },
    result: true,
  },
];
