import assert from "node:assert/strict";
import {
  compileExpr,
  compileWriteTarget,
  evalExpr,
  ExprError,
  FlowError,
  MAX_EXPR_DEPTH,
  MAX_EXPR_NODES,
} from "./mod.ts";
import { FIXTURE_B_LOOP_COND, lit, path, SPEC_ROWS } from "./_spec_rows.ts";

Deno.test("compileExpr() and evalExpr() satisfy every expression-syntax case of §5.4", async (t) => {
  for (const row of SPEC_ROWS) {
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
  limit({ op: "path", at: "$." + "a".repeat(8191) }); // a tree's path: the same bound
  limit({ op: "exists", at: "$." + "a".repeat(1_000_000) });
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
