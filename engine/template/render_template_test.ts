import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import { MAX_ITERATIONS, MAX_OUTPUT_BYTES, renderTemplate, TemplateError } from "./mod.ts";
import { cachedPathChars } from "./render_template.ts";

const render = (source: string, slots: Record<string, Json> = {}) => renderTemplate(source, slots);
const renderFails = (source: string, slots: Record<string, Json>, detail: string) =>
  assert.throws(() => render(source, slots), (e) => {
    assert.ok(e instanceof TemplateError, String(e));
    assert.equal(e.kind, "render");
    assert.equal(e.message, `template render failed: ${detail}`);
    return true;
  });

Deno.test("renderTemplate() copies text and drops comments", () => {
  assert.equal(render("plain — text ✓\n"), "plain — text ✓\n");
  assert.equal(render("a{# note {{ x }} #}b"), "ab");
  assert.equal(render(""), "");
  assert.equal(render("{ not a tag } %} }}"), "{ not a tag } %} }}");
});

Deno.test("renderTemplate() prints strings verbatim, JSON numbers, booleans, none and compact JSON", () => {
  const slots = {
    s: "<b>&'\"",
    n: 1.5,
    big: 1e21,
    t: true,
    f: false,
    z: null,
    a: [1, "x"],
    o: { b: 1, a: [null] },
  };
  assert.equal(
    render("{{s}}|{{n}}|{{big}}|{{t}}|{{f}}|{{z}}|{{a}}|{{o}}", slots),
    '<b>&\'"|1.5|1e+21|true|false|none|[1,"x"]|{"a":[null],"b":1}',
  );
});

Deno.test("renderTemplate() resolves members, indices and $ as the slot map", () => {
  const slots = { user: { name: "Ada", tags: ["x", "y"] }, "odd key": 1 };
  assert.equal(render("{{ user.name }} {{ user.tags[1] }} {{ user['name'] }}", slots), "Ada y Ada");
  assert.equal(render('{{ $.user.name }} {{ $["odd key"] }}', slots), "Ada 1");
  assert.equal(render("{{ $ | tojson }}", { b: 1, a: 2 }), '{"a":2,"b":1}');
});

Deno.test("renderTemplate() treats unknown variables and members as errors", () => {
  renderFails("{{ missing }}", {}, "undefined value: missing");
  renderFails("{{ user.nope }}", { user: {} }, "undefined value: user.nope");
  renderFails("{{ xs[2] }}", { xs: [1] }, "undefined value: xs[2]");
  renderFails("{{ $.nope }}", {}, "undefined value: $.nope");
  renderFails("{% if missing %}x{% endif %}", {}, "undefined value: missing");
  renderFails("{{ s.length }}", { s: "abc" }, "undefined value: s.length");
});

Deno.test("renderTemplate() applies upper, lower, trim, length and tojson", () => {
  const slots = { s: "  Mixed Case  ", xs: [1, 2, 3], o: { k: "v" } };
  assert.equal(
    render("[{{ s | upper }}][{{ s | lower }}][{{ s | trim }}]", slots),
    "[  MIXED CASE  ][  mixed case  ][Mixed Case]",
  );
  assert.equal(
    render("{{ s | trim | length }} {{ xs | length }} {{ o | length }}", slots),
    "10 3 1",
  );
  assert.equal(
    render("{{ s | trim | tojson }} {{ o | tojson }} {{ null | tojson }}", slots),
    '"Mixed Case" {"k":"v"} null',
  );
  renderFails("{{ xs | upper }}", slots, "type error in upper: expected string, got [1,2,3]");
  renderFails("{{ 3 | length }}", {}, "type error in len: unsupported type 3");
});

Deno.test("renderTemplate() default replaces undefined and null subjects only", () => {
  assert.equal(render("{{ missing | default('fallback') }}"), "fallback");
  assert.equal(
    render("{{ user.nope | default(user.name) | upper }}", { user: { name: "ada" } }),
    "ADA",
  );
  assert.equal(render("{{ z | default(1 + 1) }}", { z: null }), "2");
  assert.equal(render("{{ v | default('x') }}", { v: "" }), "");
  assert.equal(render("{{ v | default('x') }}", { v: false }), "false");
  renderFails("{{ missing | upper | default('x') }}", {}, "undefined value: missing");
  renderFails("{{ missing | default(other) }}", {}, "undefined value: other");
});

Deno.test("renderTemplate() if/elif/else uses Jinja truthiness", () => {
  const t = "{% if v %}yes{% elif w %}elif{% else %}no{% endif %}";
  for (const v of [false, null, 0, "", [], {}]) {
    assert.equal(render(t, { v, w: false }), "no", JSON.stringify(v));
  }
  for (const v of [true, 1, "0", [0], { a: 0 }]) {
    assert.equal(render(t, { v, w: false }), "yes", JSON.stringify(v));
  }
  assert.equal(render(t, { v: 0, w: 1 }), "elif");
  assert.equal(render("{% if a %}A{% endif %}", { a: false }), "");
});

Deno.test("renderTemplate() spells and/or/not as words and as operators, with Jinja truthiness", () => {
  const slots = { a: 1, b: 0, xs: [] };
  assert.equal(render("{% if a and not b %}1{% endif %}{% if a && !b %}2{% endif %}", slots), "12");
  assert.equal(render("{% if b or a %}3{% endif %}{% if b || xs %}4{% endif %}", slots), "3");
  assert.equal(render("{% if not xs %}empty{% endif %}", slots), "empty");
  assert.equal(render("{{ not xs }} {{ a and b }}", slots), "true false");
});

Deno.test("renderTemplate() evaluates the shared expression language", () => {
  const slots = { n: 3, verdict: "PASS", name: "x" };
  assert.equal(
    render("{{ n * 2 + 1 }} {{ n >= 3 }} {{ verdict in ['PASS', 'ALLOW'] }}", slots),
    "7 true true",
  );
  assert.equal(
    render("{{ concat(name, '-', n) }} {{ if(n == 3, 'three', 'other') }}", slots),
    "x-3 three",
  );
  assert.equal(
    render(
      "{{ coalesce(nope, name) }} {{ exists(nope) }} {{ exists(name) }} {{ len(name) }}",
      slots,
    ),
    "x false true 1",
  );
  assert.equal(render("{{ {'a': n, 'b': [name]} }}", slots), '{"a":3,"b":["x"]}');
  renderFails("{{ name + 1 }}", slots, 'type error in add: expected number, got "x"');
  renderFails("{{ if(n, 1, 2) }}", slots, "if cond must be boolean, got: 3");
});

Deno.test("renderTemplate() for iterates arrays and sorted object keys with loop variables", () => {
  assert.equal(
    render(
      "{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.length }}:{{ x }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %} {% endfor %}",
      { xs: ["a", "b", "c"] },
    ),
    "1/0/3:aF 2/1/3:b 3/2/3:cL ",
  );
  assert.equal(
    render("{% for k in o %}{{ k }},{% endfor %}", {
      o: { b: 2, a: 1, "\u{1F600}": 0, "\uff21": 0 },
    }),
    "a,b,\uff21,\u{1F600},",
  );
  assert.equal(render("[{% for x in xs %}{{ x }}{% endfor %}]", { xs: [] }), "[]");
  renderFails(
    "{% for x in s %}{% endfor %}",
    { s: "abc" },
    'type error in for: expected array or object, got "abc"',
  );
});

Deno.test("renderTemplate() resolves loop variables innermost first, then slots", () => {
  const slots = { x: "slot", rows: [[1, 2], [3]] };
  assert.equal(
    render(
      "{% for row in rows %}{% for x in row %}{{ x }}@{{ loop.index }}/{{ loop.length }} {% endfor %}{{ loop.index }}|{% endfor %}{{ x }}",
      slots,
    ),
    "1@1/2 2@2/2 1|3@1/1 2|slot",
  );
  assert.equal(
    render("{% for x in [1] %}{% for y in [2] %}{{ x }}{{ y }}{% endfor %}{% endfor %}", {}),
    "12",
  );
  assert.equal(
    render("{% for item in items %}{{ item.name }}{% endfor %}", {
      items: [{ name: "a" }, { name: "b" }],
    }),
    "ab",
  );
});

Deno.test("renderTemplate() keeps raw blocks verbatim", () => {
  assert.equal(render("{% raw %}{{ x }} {% if %}{# c #}{% endraw %}!"), "{{ x }} {% if %}{# c #}!");
  assert.equal(render("a {%- raw -%}  {{ keep }}  {%- endraw -%} b"), "a{{ keep }}b");
});

Deno.test("renderTemplate() strips whitespace on the side of a -", () => {
  assert.equal(render("a  \n {{- x -}} \n\t b", { x: "X" }), "aXb");
  assert.equal(render("a  {{ x -}}  b", { x: "X" }), "a  Xb");
  assert.equal(
    render("<ul>\n{%- for i in xs %}\n  <li>{{ i }}</li>\n{%- endfor %}\n</ul>", { xs: [1, 2] }),
    "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>",
  );
  assert.equal(render("a\n{#- c -#}\nb"), "ab");
  assert.equal(render("{% if true -%}   yes   {%- endif %}"), "yes");
});

Deno.test("renderTemplate() reads __proto__ and constructor as ordinary slot data", () => {
  const slots = JSON.parse('{"__proto__":{"x":1},"o":{}}');
  assert.equal(render("{{ __proto__.x }} {{ $['__proto__'] }}", slots), '1 {"x":1}');
  renderFails("{{ constructor }}", {}, "undefined value: constructor");
  renderFails("{{ o.constructor }}", slots, "undefined value: o.constructor");
  renderFails("{{ o.__proto__ }}", slots, "undefined value: o.__proto__");
  renderFails("{{ toString }}", {}, "undefined value: toString");
});

Deno.test("renderTemplate() limits output size and loop iterations", () => {
  const half = "x".repeat(MAX_OUTPUT_BYTES / 2);
  assert.equal(render("{{ h }}{{ h }}", { h: half }).length, MAX_OUTPUT_BYTES);
  renderFails("{{ h }}{{ h }}!", { h: half }, `output longer than ${MAX_OUTPUT_BYTES} bytes`);
  renderFails(
    "{{ h }}",
    { h: "€".repeat(MAX_OUTPUT_BYTES / 3 + 1) },
    `output longer than ${MAX_OUTPUT_BYTES} bytes`,
  );
  const xs = Array.from({ length: 100 }, (_, i) => i);
  assert.equal(
    render("{% for a in xs %}{% for b in ys %}{% endfor %}{% endfor %}", {
      xs,
      ys: xs.slice(0, 99),
    }),
    "",
  );
  renderFails(
    "{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}",
    { xs },
    `more than ${MAX_ITERATIONS} loop iterations`,
  );
});

Deno.test("renderTemplate() reports syntax errors with the render prefix", () => {
  assert.throws(
    () => render("Hi {% set x = 1 %}"),
    (e) =>
      e instanceof TemplateError && e.kind === "syntax" &&
      e.message ===
        "template render failed: syntax error at line 1, column 7: unsupported tag 'set'",
  );
});

Deno.test("renderTemplate() bounds the work of its expressions and filters, not only its output", () => {
  // Each case held the event loop for seconds: a slot value of a few MB, looked at
  // on each of 100 passes, prints little. Now the render fails well under a second.
  const n = 400_000;
  const objects = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, 0]));
  const slots = {
    xs: Array.from({ length: 100 }, (_, i) => i),
    a: new Array(n).fill(0),
    b: new Array(n).fill(0),
    s: "x".repeat(4_000_000),
    o: objects,
    p: { ...objects },
  };
  const cases: [string, RegExp][] = [
    ["{% for x in xs %}{% if a == b %}.{% endif %}{% endfor %}", /expression too costly/],
    ["{% for x in xs %}{{ a|tojson|length }}{% endfor %}", /expression too costly/],
    ["{% for x in xs %}{{ s|upper|length }}{% endfor %}", /expression too costly/],
    ["{% for x in xs %}{{ o == p }}{% endfor %}", /expression too costly/],
    ["{{ [a, a, a, a, a, a, a, a, a, a]|tojson }}", /output longer than/],
  ];
  for (const [source, error] of cases) {
    const started = performance.now();
    assert.throws(() => render(source, slots), (e) => {
      assert.ok(e instanceof TemplateError, String(e));
      assert.match(e.message, error);
      return true;
    }, source);
    const ms = performance.now() - started;
    assert.ok(ms < 1_000, `${source}: ${ms.toFixed(0)} ms`);
  }
  // a large object is listed once for its truthiness, not on every pass
  const started = performance.now();
  assert.equal(
    render("{% for x in xs %}{% if o %}.{% endif %}{% endfor %}", slots),
    ".".repeat(100),
  );
  assert.ok(performance.now() - started < 1_000);
});

Deno.test("renderTemplate() keeps at most 1 Mi characters of paths in its cache", () => {
  // 1,000 distinct paths of 200 KB each stayed cached (up to 400 MB)
  for (let i = 0; i < 100; i++) {
    const name = "x" + String(i).padStart(6, "0") + "a".repeat(200_000);
    assert.equal(render(`{{ ${name} | default('-') }}`), "-");
    assert.ok(cachedPathChars() <= 1024 * 1024, `${cachedPathChars()} characters cached`);
  }
});
