import assert from "node:assert/strict";
import type { ExprNode } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import {
  compileExpr,
  compileWriteTarget,
  evalExpr,
  ExprError,
  FlowError,
  MAX_EXPR_DEPTH,
  MAX_EXPR_NODES,
} from "./mod.ts";

const path = (at: string): ExprNode => ({ op: "path", at });
const lit = (value: Json): ExprNode => ({ op: "lit", value });
const FIXTURE_B_LOOP_COND: ExprNode = {
  op: "or",
  operands: [
    { op: "not", operand: { op: "exists", at: "$.verdict" } },
    { op: "eq", lhs: path("$.verdict"), rhs: lit("BLOCKED") },
  ],
};

type Row = { n: string; text: string; tree?: ExprNode; ctx?: Json; result?: Json; error?: string };

// reference/blueprint.md §5.4, every row.
const ROWS: Row[] = [
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
  // Row 20 (a branch cond of `$.n`) needs a flow; engine/flow tests run it. Here: its tree.
  { n: "20", text: "$.n", tree: path("$.n"), ctx: { n: 1 }, result: 1 },
  {
    n: "21",
    text: "exists($.a)",
    tree: { op: "exists", at: "$.a" },
    ctx: { a: null },
    result: true,
  },
];

Deno.test("compileExpr() and evalExpr() satisfy every expression-syntax case of §5.4", async (t) => {
  for (const row of ROWS) {
    await t.step(`row ${row.n}: ${row.text}`, () => {
      if (row.tree === undefined) {
        assert.throws(() => compileExpr(row.text), (e) => {
          assert.ok(e instanceof ExprError);
          assert.equal(e.kind, "syntax");
          assert.equal(e.message, row.error);
          return true;
        });
        return;
      }
      const tree = compileExpr(row.text);
      assert.deepEqual(tree, row.tree);
      assert.deepEqual(compileExpr(row.tree), row.tree, "the tree form compiles to itself");
      if (row.error !== undefined) {
        assert.throws(() => evalExpr(tree, row.ctx ?? {}), (e) => {
          assert.ok(e instanceof FlowError);
          assert.equal(e.message, row.error);
          return true;
        });
      } else {
        assert.deepEqual(evalExpr(tree, row.ctx ?? {}), row.result);
      }
    });
  }
});

Deno.test("compileExpr() compiles the text forms of fixture B's conditions to its trees", () => {
  assert.deepEqual(
    compileExpr("!exists($.verdict) || $.verdict == 'BLOCKED'"),
    FIXTURE_B_LOOP_COND,
  );
  assert.deepEqual(compileExpr("$.verdict in ['PASS', 'ALLOW']"), {
    op: "in",
    needle: path("$.verdict"),
    haystack: lit(["PASS", "ALLOW"]),
  });
});

Deno.test("compileExpr() compiles strings nested anywhere in a tree", () => {
  const tree = compileExpr({ op: "and", operands: ["$.x > 5", { op: "not", operand: "$.y" }] });
  assert.deepEqual(tree, {
    op: "and",
    operands: [
      { op: "gt", lhs: path("$.x"), rhs: lit(5) },
      { op: "not", operand: path("$.y") },
    ],
  });
  assert.deepEqual(compileExpr({ op: "object", fields: { a: "'A'", b: "$.b" } }), {
    op: "object",
    fields: { a: lit("A"), b: path("$.b") },
  });
});

Deno.test("compileExpr() canonicalizes path and exists targets in trees", () => {
  assert.deepEqual(compileExpr({ op: "path", at: '$["mock-gate"]["v"]' }), path("$.mock-gate.v"));
  assert.deepEqual(compileExpr({ op: "exists", at: '$["a.b"]' }), { op: "exists", at: '$["a.b"]' });
});

Deno.test("compileExpr() refuses bad paths at load time, exists included", async (t) => {
  for (const at of ["$foo", "$.", "$.a..b", "$.a.", "x"]) {
    for (const op of ["path", "exists"] as const) {
      await t.step(`${op} ${at}`, () => {
        assert.throws(() => compileExpr({ op, at }), (e) => {
          assert.ok(e instanceof ExprError);
          assert.equal(e.kind, "path");
          assert.equal(e.message, `invalid path syntax: ${at}`);
          return true;
        });
      });
    }
  }
});

Deno.test("compileExpr() folds literal arrays and objects in trees to lit", () => {
  assert.deepEqual(
    compileExpr({ op: "array", items: [lit(1), "'x'", { op: "array", items: [] }] }),
    lit([1, "x", []]),
  );
  assert.deepEqual(compileExpr({ op: "array", items: [lit(1), "$.a"] }), {
    op: "array",
    items: [lit(1), path("$.a")],
  });
  assert.deepEqual(
    compileExpr({ op: "object", fields: { a: lit({ b: 1 }) } }),
    lit({ a: { b: 1 } }),
  );
  assert.deepEqual(compileExpr("{}"), lit({}));
  assert.deepEqual(compileExpr("[]"), lit([]));
  assert.deepEqual(compileExpr("[1, [2, {'k': -3}]]"), lit([1, [2, { k: -3 }]]));
});

Deno.test("compileExpr() copies lit values so later input mutation cannot reach the tree", () => {
  const input = { op: "lit" as const, value: { a: [1] } };
  const tree = compileExpr(input);
  input.value.a.push(2);
  assert.deepEqual(tree, lit({ a: [1] }));
});

Deno.test("compileExpr() refuses malformed trees with kind shape", async (t) => {
  const bad: unknown[] = [
    { op: "nope" },
    { op: "eq", lhs: lit(1) },
    { op: "lit" },
    { op: "and", operands: "x" },
    { op: "coalesce", operands: [] },
    { op: "concat", operands: [] },
    { op: "object", fields: [] },
    { op: "path", at: 1 },
    42,
    null,
    [],
  ];
  for (const input of bad) {
    await t.step(JSON.stringify(input), () => {
      // deliberately malformed input, as a caller that skipped the schema could send
      assert.throws(
        () => compileExpr(input as string),
        (e) => e instanceof ExprError && e.kind === "shape",
      );
    });
  }
});

Deno.test("compileExpr() enforces the text, depth and node limits", () => {
  const limit = (input: unknown) =>
    assert.throws(
      () => compileExpr(input as string),
      (e) => e instanceof ExprError && e.kind === "limit",
    );
  limit("1" + " ".repeat(8192));
  assert.doesNotThrow(() => compileExpr("1" + " ".repeat(8191)));
  limit("é".repeat(4097)); // 8194 UTF-8 bytes
  let deep: unknown = lit(1);
  for (let i = 1; i < MAX_EXPR_DEPTH; i++) deep = { op: "not", operand: deep };
  assert.doesNotThrow(() => compileExpr(deep as string));
  limit({ op: "not", operand: deep });
  limit("!".repeat(70) + "true");
  limit("(".repeat(70) + "1" + ")".repeat(70));
  limit("1" + "+1".repeat(MAX_EXPR_NODES)); // also far deeper than 64
  limit({ op: "and", operands: Array.from({ length: MAX_EXPR_NODES }, () => lit(true)) });
  assert.doesNotThrow(() =>
    compileExpr({
      op: "and",
      operands: Array.from({ length: MAX_EXPR_NODES - 1 }, () => lit(true)),
    })
  );
});

Deno.test("compileExpr() reports the nesting limit with a column", () => {
  assert.throws(() => compileExpr("(".repeat(70) + "1" + ")".repeat(70)), {
    message: "expression limit exceeded at 65: nesting deeper than 64",
  });
});

Deno.test("compileWriteTarget() accepts index-free paths, text included", () => {
  assert.deepEqual(compileWriteTarget("$.a.b"), path("$.a.b"));
  assert.deepEqual(compileWriteTarget('$["x-y"]'), path("$.x-y"));
  assert.deepEqual(compileWriteTarget({ op: "path", at: "$" }), path("$"));
});

Deno.test("compileWriteTarget() refuses non-paths and index segments", () => {
  assert.throws(
    () => compileWriteTarget("$.a + 1"),
    (e) =>
      e instanceof ExprError && e.kind === "shape" &&
      e.message === "write target must be a path expression",
  );
  assert.throws(() => compileWriteTarget({ op: "lit", value: "$.a" }), {
    message: "write target must be a path expression",
  });
  assert.throws(
    () => compileWriteTarget("$.items[0]"),
    (e) =>
      e instanceof ExprError && e.kind === "shape" &&
      e.message === "write target cannot use an array index: $.items[0]",
  );
  assert.throws(
    () => compileWriteTarget("$foo"),
    (e) => e instanceof ExprError && e.kind === "syntax",
  );
});
