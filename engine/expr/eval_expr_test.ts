import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import {
  compactJson,
  compactJsonPrefix,
  compileExpr,
  evalExpr,
  evaluateExpr,
  type ExprEnv,
  FlowError,
  MAX_CONCAT_BYTES,
  PREVIEW_CHARS,
  previewJson,
} from "./mod.ts";

const run = (text: string, ctx: Json = {}): Json => evalExpr(compileExpr(text), ctx);
const fails = (text: string, ctx: Json, message: string, kind?: string) =>
  assert.throws(() => run(text, ctx), (e) => {
    assert.ok(e instanceof FlowError, String(e));
    assert.equal(e.message, message);
    if (kind !== undefined) assert.equal(e.kind, kind);
    return true;
  });

Deno.test("evalExpr() compares deeply with eq and ne, numbers by value", () => {
  assert.equal(run("$.a == {'y': [1, 2], 'x': null}", { a: { x: null, y: [1, 2] } }), true);
  assert.equal(run("$.a != [2, 1]", { a: [1, 2] }), true);
  assert.equal(run("3 == 3.0"), true);
  assert.equal(run("0.1 + 0.2 == 0.3"), false);
  assert.equal(run("'1' == 1"), false);
  assert.equal(run("null == null"), true);
});

Deno.test("evalExpr() orders numbers only", () => {
  assert.equal(run("1 < 2"), true);
  assert.equal(run("2 <= 2"), true);
  assert.equal(run("2 > 2"), false);
  assert.equal(run("2 >= 2"), true);
  fails("'a' < 'b'", {}, 'type error in lt: expected number, got "a"', "type");
  fails("1 <= null", {}, "type error in le: expected number, got null");
  fails("$.x >= 1", { x: [1] }, "type error in ge: expected number, got [1]");
  fails("{'b': 1, 'a': 2} > 1", {}, 'type error in gt: expected number, got {"a":2,"b":1}');
});

Deno.test("evalExpr() does arithmetic and refuses non-numbers, division by zero and overflow", () => {
  assert.equal(run("1 + 2 * 3 - 4 / 2"), 5);
  assert.equal(run("7 / 2"), 3.5);
  assert.ok(Object.is(run("0 * -1"), 0));
  fails("'a' + 1", {}, 'type error in add: expected number, got "a"');
  fails("1 - true", {}, "type error in sub: expected number, got true");
  fails("1 * $.x", { x: "2" }, 'type error in mul: expected number, got "2"');
  fails("1 / 0", {}, "arithmetic error in div: division by zero", "arithmetic");
  fails("0 / 0", {}, "arithmetic error in div: division by zero");
  fails("1e308 * 10", {}, "arithmetic error in mul: result is not a finite number", "arithmetic");
  fails("1e308 + 1e308", {}, "arithmetic error in add: result is not a finite number");
  fails("-1e308 - 1e308", {}, "arithmetic error in sub: result is not a finite number");
});

Deno.test("evalExpr() checks the left operand before the right", () => {
  fails("$.a + 'x'", { a: "y" }, 'type error in add: expected number, got "y"');
  fails("$.missing + 'x'", {}, "path not found: $.missing", "path");
});

Deno.test("evalExpr() uses flow truthiness in not, and, or and returns booleans", () => {
  assert.equal(run("!0"), false);
  assert.equal(run("!''"), false);
  assert.equal(run("![]"), false);
  assert.equal(run("!null"), true);
  assert.equal(run("!false"), true);
  assert.equal(run("1 && 'x'"), true);
  assert.equal(run("null || 0"), true);
  assert.equal(run("null || false"), false);
  assert.deepEqual(evalExpr({ op: "and", operands: [] }, {}), true);
  assert.deepEqual(evalExpr({ op: "or", operands: [] }, {}), false);
});

Deno.test("evalExpr() short-circuits and and or so unevaluated operands cannot fail", () => {
  assert.equal(run("false && $.missing", {}), false);
  assert.equal(run("true || $.missing", {}), true);
  assert.equal(run("!exists($.v) || $.v == 'B'", {}), true);
  fails("true && $.missing", {}, "path not found: $.missing");
});

Deno.test("evalExpr() exists is true for null and false for missing", () => {
  assert.equal(run("exists($.a)", { a: null }), true);
  assert.equal(run("exists($.a.b)", { a: null }), false);
  assert.equal(run("exists($.a[1])", { a: [0] }), false);
  assert.equal(run("exists($)", null), true);
});

Deno.test("evalExpr() len counts elements, code points and keys", () => {
  assert.equal(run("len($.a)", { a: [1, 2, 3] }), 3);
  assert.equal(run("len('h€llo😀')"), 6);
  assert.equal(run("len('')"), 0);
  assert.equal(run("len($.o)", { o: { a: 1, b: 2 } }), 2);
  assert.equal(run("len($.s)", { s: "\ud800x" }), 2);
  fails("len(3)", {}, "type error in len: unsupported type 3");
  fails("len(null)", {}, "type error in len: unsupported type null");
  fails("len(true)", {}, "type error in len: unsupported type true");
});

Deno.test("evalExpr() in tests deep membership and needs an array haystack", () => {
  assert.equal(run("{'a': 1} in [1, {'a': 1.0}]"), true);
  assert.equal(run("'x' in []"), false);
  fails("'a' in 'abc'", {}, 'type error in in: haystack must be an array, got "abc"');
  fails("'a' in $.o", { o: { a: 1 } }, 'type error in in: haystack must be an array, got {"a":1}');
});

Deno.test("evalExpr() if needs a strict boolean and evaluates only the chosen arm", () => {
  assert.equal(run("if($.n >= 3, 'stop', $.missing)", { n: 3 }), "stop");
  assert.equal(run("if(false, $.missing, 2)"), 2);
  fails("if(1, 2, 3)", {}, "if cond must be boolean, got: 1", "condition");
  fails("if(null, 2, 3)", {}, "if cond must be boolean, got: null");
});

Deno.test("evalExpr() coalesce skips missing paths and nulls and lets other errors through", () => {
  assert.equal(run("coalesce($.a, $.b.c, $.d)", { b: 1, d: 0 }), 0);
  assert.equal(run("coalesce($.a, null)"), null);
  assert.equal(run("coalesce($.a[3], 'x')", { a: [] }), "x");
  assert.equal(run("coalesce(false, 1)"), false);
  fails("coalesce(1 / 0, 1)", {}, "arithmetic error in div: division by zero");
  fails("coalesce($.a + 1, 1)", { a: "s" }, 'type error in add: expected number, got "s"');
});

Deno.test("evalExpr() concat joins strings and JSON numbers and nothing else", () => {
  assert.equal(run("concat('n=', $.n, '/', 1.5, '/', 1e21)", { n: 3 }), "n=3/1.5/1e+21");
  assert.equal(run("concat('only')"), "only");
  fails("concat('a', null)", {}, "type error in concat: expected string or number, got null");
  fails("concat('a', [1])", {}, "type error in concat: expected string or number, got [1]");
  fails("concat('a', true)", {}, "type error in concat: expected string or number, got true");
});

Deno.test("evalExpr() limits a concat result to 1 MiB", () => {
  const half = "x".repeat(MAX_CONCAT_BYTES / 2);
  assert.equal((run("concat($.h, $.h)", { h: half }) as string).length, MAX_CONCAT_BYTES);
  fails(
    "concat($.h, $.h, 'y')",
    { h: half },
    `concat result longer than ${MAX_CONCAT_BYTES} bytes`,
    "limit",
  );
  fails(
    "concat($.h)",
    { h: "€".repeat(MAX_CONCAT_BYTES / 3 + 1) },
    `concat result longer than ${MAX_CONCAT_BYTES} bytes`,
  );
});

Deno.test("evalExpr() builds arrays and objects from evaluated parts", () => {
  assert.deepEqual(run("[$.a, $.a + 1, 'z']", { a: 1 }), [1, 2, "z"]);
  assert.deepEqual(run("{'directive': $.plan, 'n': len($.plan)}", { plan: "PP" }), {
    directive: "PP",
    n: 2,
  });
  const proto = run("{'__proto__': $.a}", { a: 1 }) as object;
  assert.equal(Object.hasOwn(proto, "__proto__"), true);
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
});

Deno.test("evalExpr() shares what it reads instead of copying it", () => {
  const ctx = { a: { b: [1] } };
  assert.equal(evalExpr({ op: "path", at: "$.a" }, ctx), ctx.a);
  const built = evalExpr(compileExpr("[$.a, $.a]"), ctx) as Json[];
  assert.equal(built[0], ctx.a);
  assert.equal(built[1], ctx.a);
});

Deno.test("evalExpr() reads __proto__, constructor and prototype as ordinary data", () => {
  const ctx: Json = JSON.parse('{"__proto__":{"x":1},"constructor":"c"}');
  assert.equal(run("$.__proto__.x", ctx), 1);
  assert.equal(run("$['__proto__']['x'] + 1", ctx), 2);
  assert.equal(run("$.constructor", ctx), "c");
  assert.equal(run("exists($.prototype)", ctx), false);
  assert.equal(run("exists($.toString)", {}), false);
  assert.equal(run("len($)", ctx), 2);
  fails("$.constructor", {}, "path not found: $.constructor");
  fails("$.__proto__", {}, "path not found: $.__proto__");
  assert.equal(run("coalesce($.__proto__, 'none')", {}), "none");
});

Deno.test("evaluateExpr() reads through a custom environment", () => {
  const env: ExprEnv<Map<string, Json>> = {
    read: (root, at) => {
      const v = root.get(at);
      if (v === undefined) throw new FlowError(`nothing at ${at}`, "path");
      return v;
    },
    exists: (root, at) => root.has(at),
    truthy: (v) => Boolean(v),
  };
  const root = new Map<string, Json>([["$.a", 0]]);
  assert.equal(evaluateExpr(compileExpr("!$.a"), root, env), true);
  assert.equal(evaluateExpr(compileExpr("coalesce($.b, $.a)"), root, env), 0);
  assert.equal(evaluateExpr(compileExpr("exists($.b)"), root, env), false);
});

Deno.test("evalExpr() bounds the work of one expression, not only its nodes", () => {
  // 170 `len` of one 200,000-key object listed it 170 times (90 ms each); 170 `eq`
  // of two equal 1.6 M-element values took 3 s. Both under a second now.
  const keys = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, 0]));
  const a = new Array(400_000).fill(0);
  const b = new Array(400_000).fill(0);
  const ctx = { o: keys, a4: [a, a, a, a], b4: [b, b, b, b] };
  let started = performance.now();
  assert.deepEqual(
    evalExpr(compileExpr(`[${Array(170).fill("len($.o)").join(", ")}]`), ctx),
    Array(170).fill(200_000),
  );
  assert.ok(performance.now() - started < 1_000, "len of one object is counted once");
  started = performance.now();
  assert.throws(
    () => evalExpr({ op: "and", operands: Array(170).fill(compileExpr("$.a4 == $.b4")) }, ctx),
    (e) => e instanceof FlowError && e.kind === "limit" && /^expression too costly/.test(e.message),
  );
  assert.ok(performance.now() - started < 1_000);
  // one comparison of the two (1.6 M values) is within the budget
  assert.equal(evalExpr(compileExpr("$.a4 == $.b4"), ctx), true);
});

Deno.test("previewJson() cuts a value's text after PREVIEW_CHARS, without writing the rest", () => {
  for (const v of [null, 1.5, 'a"b', [1, { b: 2, a: [] }], { "é": "x", a: null }]) {
    assert.equal(previewJson(v as Json), compactJson(v as Json));
  }
  const a = new Array(1_000_000).fill(0);
  const huge = Array(1_000).fill(a); // 2 GB written out
  const shown = previewJson(huge);
  assert.equal(shown, "[[" + "0,".repeat(PREVIEW_CHARS).slice(0, PREVIEW_CHARS - 2) + "…");
  assert.equal(previewJson("x".repeat(10_000_000)).length, PREVIEW_CHARS + 1);
  const exact = "x".repeat(PREVIEW_CHARS - 2); // its JSON fills the preview exactly
  assert.deepEqual(compactJsonPrefix(exact, PREVIEW_CHARS), { text: `"${exact}"`, cut: false });
  assert.equal(
    previewJson(Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [i, i]))),
    "{…",
  );
  assert.equal(
    previewJson(
      Array.from({ length: 100 }, (_, i) => ({ ["k" + i]: i })),
    ).length,
    PREVIEW_CHARS + 1,
  );
});
