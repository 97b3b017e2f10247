import assert from "node:assert/strict";
import type { FlowNodeNorm } from "./blueprint.ts";
import { flowNodes } from "./flow_nodes.ts";

Deno.test("flowNodes walks every node depth first, in document order, with its position", () => {
  const step = (ref: string) => ({ kind: "step", ref }) as unknown as FlowNodeNorm;
  const flow = {
    kind: "seq",
    children: [
      step("a"),
      { kind: "branch", then: step("b"), else: { kind: "loop", body: step("c") } },
      { kind: "try", body: step("d"), catch: { kind: "fanout", body: step("e") } },
    ],
  } as unknown as FlowNodeNorm;
  const seen = [...flowNodes(flow)].map(({ node, at }) => [
    node.kind === "step" ? node.ref : node.kind,
    at.join("."),
  ]);
  assert.deepEqual(seen, [
    ["seq", "flow"],
    ["a", "flow.children.0"],
    ["branch", "flow.children.1"],
    ["b", "flow.children.1.then"],
    ["loop", "flow.children.1.else"],
    ["c", "flow.children.1.else.body"],
    ["try", "flow.children.2"],
    ["d", "flow.children.2.body"],
    ["fanout", "flow.children.2.catch"],
    ["e", "flow.children.2.catch.body"],
  ]);
});
