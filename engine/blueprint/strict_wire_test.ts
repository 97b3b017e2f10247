import assert from "node:assert/strict";
import { normalizeBlueprint } from "./normalize.ts";
import { strictWireFindings } from "./strict_wire.ts";

const agents = [{ name: "a", kind: "rust_fn", spec: { fn_id: "identity" } }];
const pointers = (flow: unknown) =>
  strictWireFindings(normalizeBlueprint({ id: "bp", agents, flow })).map((f) => f.pointer);

Deno.test("strict wire: the 0.1.2 operators and node kinds pass, however nested", () => {
  const flow = {
    kind: "seq",
    children: [
      { kind: "assign", at: "$.n", value: "len($.items) + 1" },
      {
        kind: "loop",
        counter: "$.i",
        cond: "!($.i >= 3) || $.x in [1, 2]",
        max: 5,
        body: { kind: "step", ref: "a", in: "$.x", out: "$.y" },
      },
      {
        kind: "try",
        body: {
          kind: "fanout",
          items: "$.items",
          bind: "$.item",
          join: "all",
          out: "$.all",
          body: { kind: "step", ref: "a", in: "exists($.q)", out: "$.z" },
        },
        catch: {
          kind: "branch",
          cond: "$.a == 'x'",
          then: { kind: "seq", children: [] },
          else: { kind: "seq", children: [] },
        },
        err_at: "$.err",
      },
    ],
  };
  assert.deepEqual(pointers(flow), []);
});

Deno.test("strict wire: each extension operator and ask node is found at its path", () => {
  const flow = {
    kind: "seq",
    children: [
      {
        kind: "assign",
        at: "$.o",
        value: { op: "object", fields: { k: { op: "array", items: ["$.a"] } } },
      },
      {
        kind: "branch",
        cond: { op: "not", operand: { op: "coalesce", operands: ["$.a", "true"] } },
        then: {
          kind: "ask",
          to: "reviewer",
          question: { op: "concat", operands: ["'q'", "$.n"] },
          out: "$.ans",
        },
        else: {
          kind: "loop",
          counter: "$.i",
          max: 1,
          cond: { op: "eq", lhs: { op: "if", cond: "true", then: "1", else: "2" }, rhs: "1" },
          body: { kind: "seq", children: [] },
        },
      },
    ],
  };
  assert.deepEqual(pointers(flow), [
    "/flow/children/0/value/op",
    "/flow/children/0/value/fields/k/op",
    "/flow/children/1/cond/operand/op",
    "/flow/children/1/then/kind",
    "/flow/children/1/then/question/op",
    "/flow/children/1/else/cond/lhs/op",
  ]);
});
