import assert from "node:assert/strict";
import { type Blueprint, defineBlueprint, type FlowNode, type FlowNodeOf } from "./blueprint.ts";
import type { RunBody } from "./http.ts";

Deno.test("Blueprint types accept a document without as const and reject wrong kinds or missing fields", () => {
  const greet = defineBlueprint({
    id: "greet",
    agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: {
      kind: "seq",
      children: [
        { kind: "step", ref: "echo", in: "$.name", out: "$.greeting" },
        {
          kind: "branch",
          cond: "$.greeting",
          then: { kind: "assign", at: "$.ok", value: "true" },
          else: { kind: "seq", children: [] },
        },
      ],
    },
  });
  const body: RunBody = {
    blueprint: { kind: "inline", value: greet },
    init_ctx: {},
  };
  const step: FlowNodeOf<"step"> = {
    kind: "step",
    ref: "a",
    in: "$",
    out: "$.r",
  };
  // The desk's `ask` node comes from protocol/blueprint.ts with no change here.
  const ask: FlowNodeOf<"ask"> = { kind: "ask", to: "reviewer", question: "$.draft", out: "$.a" };
  // @ts-expect-error: an ask needs `to`
  const askWithoutTo: FlowNode = { kind: "ask", question: "$.draft", out: "$.a" };
  const nodes: FlowNode[] = [step, greet.flow, ask];

  // @ts-expect-error: "lua" is not a flow node kind
  const wrongKind: FlowNode = { kind: "lua", ref: "a", in: "$", out: "$.r" };
  // @ts-expect-error: a step needs `out`
  const missingField: FlowNode = { kind: "step", ref: "a", in: "$" };
  const nested: Blueprint = {
    id: "x",
    flow: {
      kind: "seq",
      // @ts-expect-error: a seq's children are flow nodes too
      children: [{ kind: "stepp", ref: "a", in: "$", out: "$.r" }],
    },
  };
  const badAgent: Blueprint = {
    id: "x",
    // @ts-expect-error: an agent kind outside the enum
    agents: [{ name: "a", kind: "python" }],
    flow: step,
  };

  assert.equal(body.blueprint.kind, "inline");
  assert.equal(nodes.length, 3);
  assert.ok(wrongKind && missingField && nested && badAgent && askWithoutTo);
});
