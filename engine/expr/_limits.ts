/**
 * Size limits of one expression (reference/blueprint.md §3.5).
 *
 * @module
 */
import type { ExprNode } from "../../protocol/blueprint.ts";
import { ExprError } from "./expr_error.ts";

/** The deepest accepted expression tree (the root is at depth 1). */
export const MAX_EXPR_DEPTH = 64;
/** The most nodes accepted in one expression. */
export const MAX_EXPR_NODES = 512;

/** Throws `ExprError` (`limit`) for a tree beyond the limits; never recurses past them. */
export function checkExprLimits(node: ExprNode): void {
  countNodes(node, 1, { nodes: 0 });
}

/** Counts one more node at `depth`, throwing when a limit is passed. */
export function countNode(depth: number, counter: { nodes: number }): void {
  if (depth > MAX_EXPR_DEPTH) {
    throw new ExprError("limit", `expression deeper than ${MAX_EXPR_DEPTH} levels`);
  }
  if (++counter.nodes > MAX_EXPR_NODES) {
    throw new ExprError("limit", `expression has more than ${MAX_EXPR_NODES} nodes`);
  }
}

function countNodes(node: ExprNode, depth: number, counter: { nodes: number }): void {
  countNode(depth, counter);
  const children: ExprNode[] = [];
  switch (node.op) {
    case "path":
    case "lit":
    case "exists":
      return;
    case "not":
      children.push(node.operand);
      break;
    case "and":
    case "or":
    case "coalesce":
    case "concat":
      children.push(...node.operands);
      break;
    case "len":
      children.push(node.of);
      break;
    case "in":
      children.push(node.needle, node.haystack);
      break;
    case "if":
      children.push(node.cond, node.then, node.else);
      break;
    case "array":
      children.push(...node.items);
      break;
    case "object":
      children.push(...Object.values(node.fields));
      break;
    default:
      children.push(node.lhs, node.rhs);
  }
  for (const child of children) countNodes(child, depth + 1, counter);
}
