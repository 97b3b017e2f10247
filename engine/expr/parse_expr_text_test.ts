import assert from "node:assert/strict";
import type { ExprNode } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { ExprError, parseEmbeddedExpr, parseExprText } from "./mod.ts";

const path = (at: string): ExprNode => ({ op: "path", at });
const lit = (value: Json): ExprNode => ({ op: "lit", value });

Deno.test("parseExprText() follows the precedence table from || down to unary minus", () => {
  assert.deepEqual(parseExprText("$.a || $.b && !$.c == 1 + 2 * -$.d"), {
    op: "or",
    operands: [
      path("$.a"),
      {
        op: "and",
        operands: [
          path("$.b"),
          {
            op: "not",
            operand: {
              op: "eq",
              lhs: path("$.c"),
              rhs: {
                op: "add",
                lhs: lit(1),
                rhs: { op: "mul", lhs: lit(2), rhs: { op: "sub", lhs: lit(0), rhs: path("$.d") } },
              },
            },
          },
        ],
      },
    ],
  } as ExprNode);
});

Deno.test("parseExprText() flattens unparenthesized && and || chains only", () => {
  assert.deepEqual(parseExprText("$.a && $.b && $.c"), {
    op: "and",
    operands: [path("$.a"), path("$.b"), path("$.c")],
  });
  assert.deepEqual(parseExprText("($.a && $.b) && $.c"), {
    op: "and",
    operands: [{ op: "and", operands: [path("$.a"), path("$.b")] }, path("$.c")],
  });
  assert.deepEqual(parseExprText("$.a || $.b || $.c"), {
    op: "or",
    operands: [path("$.a"), path("$.b"), path("$.c")],
  });
});

Deno.test("parseExprText() makes + - * / left-associative", () => {
  assert.deepEqual(parseExprText("8 - 2 - 1"), {
    op: "sub",
    lhs: { op: "sub", lhs: lit(8), rhs: lit(2) },
    rhs: lit(1),
  });
  assert.deepEqual(parseExprText("8 / 2 * 3"), {
    op: "mul",
    lhs: { op: "div", lhs: lit(8), rhs: lit(2) },
    rhs: lit(3),
  });
});

Deno.test("parseExprText() maps every comparison and in", () => {
  for (
    const [text, op] of [["==", "eq"], ["!=", "ne"], ["<", "lt"], ["<=", "le"], [">", "gt"], [
      ">=",
      "ge",
    ]]
  ) {
    assert.deepEqual(parseExprText(`$.a ${text} 1`), { op, lhs: path("$.a"), rhs: lit(1) });
  }
  assert.deepEqual(parseExprText("'x' in $.xs"), {
    op: "in",
    needle: lit("x"),
    haystack: path("$.xs"),
  });
  assert.throws(() => parseExprText("1 == 1 == 1"), {
    message: "expression syntax error at 8: comparison operators cannot be chained",
  });
  assert.throws(() => parseExprText("1 in $.a in $.b"), {
    message: "expression syntax error at 10: comparison operators cannot be chained",
  });
});

Deno.test("parseExprText() folds unary minus over numeric literals only", () => {
  assert.deepEqual(parseExprText("-1.5e2"), lit(-150));
  assert.deepEqual(parseExprText("--2"), lit(2));
  assert.deepEqual(parseExprText("-(3)"), lit(-3));
  assert.deepEqual(parseExprText("-0"), lit(0));
  assert.ok(Object.is((parseExprText("-0") as { value: number }).value, 0));
  assert.deepEqual(parseExprText("-len($.a)"), {
    op: "sub",
    lhs: lit(0),
    rhs: { op: "len", of: path("$.a") },
  });
  assert.deepEqual(parseExprText("-'a'"), { op: "sub", lhs: lit(0), rhs: lit("a") });
});

Deno.test("parseExprText() reads literals: numbers, both string quotes, keywords", () => {
  assert.deepEqual(parseExprText("0"), lit(0));
  assert.deepEqual(parseExprText("12.25"), lit(12.25));
  assert.deepEqual(parseExprText("1E+3"), lit(1000));
  assert.deepEqual(parseExprText("true"), lit(true));
  assert.deepEqual(parseExprText("false"), lit(false));
  assert.deepEqual(parseExprText("null"), lit(null));
  assert.deepEqual(parseExprText('"a\\"b\\n\\u00e9"'), lit('a"b\né'));
  assert.deepEqual(parseExprText("'it\\'s \"q\" \\\\ \\u0041'"), lit('it\'s "q" \\ A'));
  assert.deepEqual(parseExprText("''"), lit(""));
});

Deno.test("parseExprText() reads text paths, converting brackets to the canonical form", () => {
  assert.deepEqual(parseExprText("$"), path("$"));
  assert.deepEqual(parseExprText("$.a_1.B2"), path("$.a_1.B2"));
  assert.deepEqual(parseExprText("$['x.y'][3][\"k\"]"), path('$["x.y"][3].k'));
  assert.deepEqual(parseExprText("$.é"), path("$.é"));
  assert.deepEqual(parseExprText("$['mock-gate']"), path("$.mock-gate"));
});

Deno.test("parseExprText() builds calls, arrays and objects", () => {
  assert.deepEqual(parseExprText("len ( $.a )"), { op: "len", of: path("$.a") });
  assert.deepEqual(parseExprText("exists($['a b'])"), { op: "exists", at: "$.a b" });
  assert.deepEqual(parseExprText("coalesce($.a)"), { op: "coalesce", operands: [path("$.a")] });
  assert.deepEqual(parseExprText("concat('a', 1, $.b)"), {
    op: "concat",
    operands: [lit("a"), lit(1), path("$.b")],
  });
  assert.deepEqual(parseExprText("[$.a, 1]"), { op: "array", items: [path("$.a"), lit(1)] });
  assert.deepEqual(
    parseExprText("{'__proto__': $.a}"),
    JSON.parse('{"op":"object","fields":{"__proto__":{"op":"path","at":"$.a"}}}'),
  );
  const folded = parseExprText("{'__proto__': {'x': 1}}") as { value: object };
  assert.equal(Object.hasOwn(folded.value, "__proto__"), true);
  assert.equal(Object.getPrototypeOf(folded.value), Object.prototype);
});

Deno.test("parseExprText() reports errors with 1-based columns", async (t) => {
  const cases: [string, string][] = [
    ["", "1: unexpected end of input"],
    ["   ", "4: unexpected end of input"],
    ["$.a ==", "7: unexpected end of input"],
    ["$.a = 1", "5: unexpected character '='"],
    ["$.a & 1", "5: unexpected character '&'"],
    ["$.a | 1", "5: unexpected character '|'"],
    ["1 2", "3: unexpected token '2'"],
    ["(1", "3: expected ')' but found end of input"],
    ["[1 2]", "4: expected ']' but found '2'"],
    ["{1: 2}", "2: unexpected token '1'"],
    ["{'a' 2}", "6: expected ':' but found '2'"],
    ["{'a': 1, 'a': 2}", '10: duplicate key "a"'],
    ["$.", "3: expected a key name after '.'"],
    ["$.a..b", "5: expected a key name after '.'"],
    ["$.a.", "5: expected a key name after '.'"],
    ["$.1", "3: expected a key name after '.'"],
    ["$a", "2: expected '.' or '[' after '$'"],
    ["$.mock-gate", "8: unexpected token 'gate'"],
    ["$['']", "3: empty key"],
    ["$[01]", "4: expected ']'"],
    ["$[x]", "3: expected a string or an index after '['"],
    ["$['a'", "6: expected ']'"],
    ["01", "1: invalid number"],
    ["1.", "1: invalid number"],
    ["1e", "1: invalid number"],
    ["1x", "1: invalid number"],
    ["1e999", "1: number out of range"],
    ["'abc", "1: unterminated string"],
    ['"abc', "1: unterminated string"],
    ['"\\x"', "1: invalid string literal"],
    ["foo", "1: unexpected token 'foo'"],
    ["len", "1: unexpected token 'len'"],
    ["and", "1: unexpected token 'and'"],
    ["len(1, 2)", "9: len() takes 1 argument"],
    ["if(true, 1)", "11: if() takes 3 arguments"],
    ["concat()", "8: concat() takes at least one argument"],
    ["exists(1)", "8: exists() takes a path"],
    ["exists($.a + 1)", "12: expected ')' but found '+'"],
    ["é == $", "1: unexpected token 'é'"],
    ["'é' == ", "8: unexpected end of input"],
    ["'😀' = 1", "5: unexpected character '='"],
  ];
  for (const [text, tail] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseExprText(text), (e) => {
        assert.ok(e instanceof ExprError);
        assert.equal(e.kind, "syntax");
        assert.equal(e.message, `expression syntax error at ${tail}`);
        return true;
      });
    });
  }
});

Deno.test("parseExprText() accepts whitespace between tokens only", () => {
  assert.deepEqual(parseExprText(" \t\r\n$.a\n==\t1 "), {
    op: "eq",
    lhs: path("$.a"),
    rhs: lit(1),
  });
  assert.throws(() => parseExprText("$ .a"), ExprError);
  assert.throws(() => parseExprText("$.a [0]"), ExprError);
});

Deno.test("parseEmbeddedExpr() reads template expressions, variables and filters up to the terminator", () => {
  const source = "{{ user.name | default('x') | upper -}} tail";
  const parsed = parseEmbeddedExpr(source, 2, { terminator: "}}", filters: true });
  assert.deepEqual(parsed.node, path("@.user.name"));
  assert.deepEqual(parsed.filters, [
    { name: "default", arg: lit("x"), offset: 15 },
    { name: "upper", offset: 30 },
  ]);
  assert.equal(parsed.end, 36);
  assert.equal(parsed.after, 39);
  assert.equal(parsed.stripAfter, true);
});

Deno.test("parseEmbeddedExpr() spells and/or/not as words and keeps nested braces", () => {
  const source = "{% if not a and b or $.c %}";
  const parsed = parseEmbeddedExpr(source, 5, { terminator: "%}" });
  assert.deepEqual(parsed.node, {
    op: "or",
    operands: [
      { op: "and", operands: [{ op: "not", operand: path("@.a") }, path("@.b")] },
      path("$.c"),
    ],
  });
  assert.equal(parsed.stripAfter, false);
  const braces = parseEmbeddedExpr("{{ {'a': {'b': x}}}}", 2, { terminator: "}}" });
  assert.deepEqual(braces.node, {
    op: "object",
    fields: { a: { op: "object", fields: { b: path("@.x") } } },
  });
  assert.equal(braces.after, 20);
  const call = parseEmbeddedExpr("{{ len(items[0]['k']) }}", 2, { terminator: "}}" });
  assert.deepEqual(call.node, { op: "len", of: path("@.items[0].k") });
});

Deno.test("parseEmbeddedExpr() reports offsets and refuses filters where none are allowed", () => {
  assert.throws(
    () => parseEmbeddedExpr("{% if a | upper %}", 5, { terminator: "%}" }),
    (e) => e instanceof ExprError && e.offset === 8 && e.detail === "unexpected token '|'",
  );
  assert.throws(
    () => parseEmbeddedExpr("{{ a ", 2, { terminator: "}}" }),
    (e) => e instanceof ExprError && e.offset === 5 && e.detail === "expected '}}'",
  );
  assert.throws(
    () => parseEmbeddedExpr("{{ a | 1 }}", 2, { terminator: "}}", filters: true }),
    (e) => e instanceof ExprError && e.detail === "expected a filter name",
  );
});
