/**
 * A walk over a normalized flow: every node, depth first in document order,
 * with its position (`["flow", "children", 0, …]`).
 *
 * @module
 */
import type { FlowNodeNorm } from "./blueprint.ts";
import type { IssueKey } from "./issues.ts";

/** Each node under (and with) `node`, with its position below `at`. */
export function* flowNodes(
  node: FlowNodeNorm,
  at: readonly IssueKey[] = ["flow"],
): Generator<{ node: FlowNodeNorm; at: readonly IssueKey[] }> {
  yield { node, at };
  switch (node.kind) {
    case "seq":
      for (let i = 0; i < node.children.length; i++) {
        yield* flowNodes(node.children[i], [...at, "children", i]);
      }
      return;
    case "branch":
      yield* flowNodes(node.then, [...at, "then"]);
      yield* flowNodes(node.else, [...at, "else"]);
      return;
    case "try":
      yield* flowNodes(node.body, [...at, "body"]);
      yield* flowNodes(node.catch, [...at, "catch"]);
      return;
    case "fanout":
    case "loop":
      yield* flowNodes(node.body, [...at, "body"]);
      return;
  }
}
