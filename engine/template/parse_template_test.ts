import assert from "node:assert/strict";
import { checkTemplate, MAX_BLOCK_DEPTH, MAX_TEMPLATE_BYTES, TemplateError } from "./mod.ts";

Deno.test("checkTemplate() accepts every supported construct", () => {
  assert.doesNotThrow(() =>
    checkTemplate(
      "{# c #}{{ a.b[0]['k'] | default('x') | upper | lower | trim | length | tojson }}" +
        "{% if a and not b or c %}{% elif $.d %}{% else %}{% endif %}" +
        "{%- for x in xs -%}{{ loop.index }}{% endfor %}{% raw %}{% nonsense %}{% endraw %}",
    )
  );
});

Deno.test("checkTemplate() reports each syntax error with its line and column", async (t) => {
  const cases: [string, string][] = [
    ["{{ x", "line 1, column 5: expected '}}'"],
    ["{{ }}", "line 1, column 4: unexpected end of input"],
    ["a\n  {{ x + }}", "line 2, column 10: unexpected end of input"],
    ["{# never closed", "line 1, column 1: unclosed comment"],
    ["{% set x = 1 %}", "line 1, column 4: unsupported tag 'set'"],
    ["{% include 'a' %}", "line 1, column 4: unsupported tag 'include'"],
    ["{% extends 'a' %}", "line 1, column 4: unsupported tag 'extends'"],
    ["{% macro m() %}{% endmacro %}", "line 1, column 4: unsupported tag 'macro'"],
    ["{% block b %}", "line 1, column 4: unsupported tag 'block'"],
    ["{% %}", "line 1, column 3: expected a tag name"],
    ["{{ x | escape }}", "line 1, column 8: unknown filter 'escape'"],
    ["{{ x | default }}", "line 1, column 8: filter 'default' takes one argument"],
    ["{{ x | upper(1) }}", "line 1, column 8: filter 'upper' takes no argument"],
    ["{{ x is defined }}", "line 1, column 6: unexpected token 'is'"],
    ["{{ x.upper() }}", "line 1, column 11: unexpected token '('"],
    ["{{ f(x) }}", "line 1, column 5: unexpected token '('"],
    ["{{ o[k] }}", "line 1, column 6: expected a string or an index after '['"],
    ["{% if x %}open", "line 1, column 1: unclosed 'if' block (expected 'endif')"],
    ["{% if x %}{% else %}", "line 1, column 1: unclosed 'if' block (expected 'endif')"],
    ["{% for x in xs %}", "line 1, column 1: unclosed 'for' block (expected 'endfor')"],
    ["{% endif %}", "line 1, column 1: unexpected 'endif'"],
    ["x\n{% else %}", "line 2, column 1: unexpected 'else'"],
    ["{% for x in xs %}{% endif %}", "line 1, column 18: unexpected 'endif'"],
    ["{% if a %}{% else %}{% elif b %}{% endif %}", "line 1, column 21: unexpected 'elif'"],
    ["{% endfor %}", "line 1, column 1: unexpected 'endfor'"],
    ["{% else x %}", "line 1, column 8: unexpected text after 'else'"],
    ["{% for in xs %}", "line 1, column 7: expected 'for <name> in <expression>'"],
    ["{% for x of xs %}", "line 1, column 7: expected 'for <name> in <expression>'"],
    ["{% for loop in xs %}{% endfor %}", "line 1, column 7: 'loop' cannot be a loop variable"],
    ["{% raw %}x", "line 1, column 1: unclosed 'raw' block (expected 'endraw')"],
    ["{% if a | upper %}{% endif %}", "line 1, column 9: unexpected token '|'"],
    ["{% if %}{% endif %}", "line 1, column 7: unexpected end of input"],
    ["{{ 'é' = 1 }}", "line 1, column 8: unexpected character '='"],
  ];
  for (const [source, tail] of cases) {
    await t.step(JSON.stringify(source), () => {
      assert.throws(() => checkTemplate(source), (e) => {
        assert.ok(e instanceof TemplateError, String(e));
        assert.equal(e.kind, "syntax");
        assert.equal(e.message, `template syntax error at ${tail}`);
        return true;
      });
    });
  }
});

Deno.test("checkTemplate() applies the expression limits inside tags", () => {
  assert.throws(
    () => checkTemplate("{{ " + "(".repeat(70) + "1" + ")".repeat(70) + " }}"),
    TemplateError,
  );
  assert.throws(
    () => checkTemplate("{{ 1" + " + 1".repeat(600) + " }}"),
    (e) => e instanceof TemplateError && e.message.includes("expression deeper than 64 levels"),
  );
});

Deno.test("checkTemplate() refuses sources over 256 KiB", () => {
  assert.doesNotThrow(() => checkTemplate("x".repeat(MAX_TEMPLATE_BYTES)));
  assert.throws(() => checkTemplate("x".repeat(MAX_TEMPLATE_BYTES + 1)), {
    message: `template source longer than ${MAX_TEMPLATE_BYTES} bytes`,
  });
  assert.throws(() => checkTemplate("é".repeat(MAX_TEMPLATE_BYTES / 2 + 1)), TemplateError);
});

Deno.test("checkTemplate() refuses blocks nested deeper than MAX_BLOCK_DEPTH, at any depth", () => {
  const ifs = (n: number) => "{%if 1%}".repeat(n) + "x" + "{%endif%}".repeat(n);
  const fors = (n: number) => "{%for a in [1]%}".repeat(n) + "x" + "{%endfor%}".repeat(n);
  assert.doesNotThrow(() => checkTemplate(ifs(MAX_BLOCK_DEPTH)));
  assert.doesNotThrow(() => checkTemplate(fors(MAX_BLOCK_DEPTH)));
  // 14,000 levels overflowed the stack (a RangeError, not a TemplateError)
  for (const source of [ifs(MAX_BLOCK_DEPTH + 1), ifs(14_000), fors(7_000)]) {
    assert.throws(() => checkTemplate(source), (e) => {
      assert.ok(e instanceof TemplateError, String(e));
      assert.match(
        e.message,
        /^template syntax error at line 1, column \d+: blocks nested deeper than 64$/,
      );
      return true;
    });
  }
});
