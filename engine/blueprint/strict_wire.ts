/**
 * `SWITCHBOARD_STRICT_WIRE_0_1_2=1` (reference/blueprint.md §3.2): registration
 * refuses a Blueprint that would not run on 0.1.2, one that uses an extension
 * operator (`if`, `coalesce`, `concat`, `array`, `object`) or the `ask` node.
 * Everything else Switchboard accepts (compact text, a missing agent `kind`) is
 * already in the 0.1.2 wire form once normalized.
 *
 * @module
 */
import type { BlueprintNorm, ExprNode, FlowNodeNorm } from "../../protocol/blueprint.ts";
import type { IssueKey } from "../../protocol/issues.ts";
import { type Finding, finding } from "./_findings.ts";

const WHY = "not in the 0.1.2 wire set (SWITCHBOARD_STRICT_WIRE_0_1_2 is on)";

/** The extension operators and `ask` nodes of `bp`, each at its path. */
export function strictWireFindings(bp: BlueprintNorm): Finding[] {
  const out: Finding[] = [];
  node(bp.flow, ["flow"], out);
  return out;
}

function node(n: FlowNodeNorm, at: IssueKey[], out: Finding[]): void {
  switch (n.kind) {
    case "step":
      return expr(n.in, [...at, "in"], out);
    case "seq":
      return n.children.forEach((child, i) => node(child, [...at, "children", i], out));
    case "branch":
      expr(n.cond, [...at, "cond"], out);
      node(n.then, [...at, "then"], out);
      return node(n.else, [...at, "else"], out);
    case "fanout":
      expr(n.items, [...at, "items"], out);
      return node(n.body, [...at, "body"], out);
    case "loop":
      expr(n.cond, [...at, "cond"], out);
      return node(n.body, [...at, "body"], out);
    case "try":
      node(n.body, [...at, "body"], out);
      return node(n.catch, [...at, "catch"], out);
    case "assign":
      return expr(n.value, [...at, "value"], out);
    case "ask":
      out.push(finding([...at, "kind"], `flow node 'ask' is ${WHY}`));
      return expr(n.question, [...at, "question"], out);
  }
}

function expr(e: ExprNode, at: IssueKey[], out: Finding[]): void {
  switch (e.op) {
    case "path":
    case "lit":
    case "exists":
      return;
    case "not":
      return expr(e.operand, [...at, "operand"], out);
    case "len":
      return expr(e.of, [...at, "of"], out);
    case "in":
      expr(e.needle, [...at, "needle"], out);
      return expr(e.haystack, [...at, "haystack"], out);
    case "and":
    case "or":
      return e.operands.forEach((o, i) => expr(o, [...at, "operands", i], out));
    case "coalesce":
    case "concat":
      extension(e.op, at, out);
      return e.operands.forEach((o, i) => expr(o, [...at, "operands", i], out));
    case "if":
      extension(e.op, at, out);
      expr(e.cond, [...at, "cond"], out);
      expr(e.then, [...at, "then"], out);
      return expr(e.else, [...at, "else"], out);
    case "array":
      extension(e.op, at, out);
      return e.items.forEach((item, i) => expr(item, [...at, "items", i], out));
    case "object":
      extension(e.op, at, out);
      for (const key of Object.keys(e.fields)) expr(e.fields[key], [...at, "fields", key], out);
      return;
    default:
      // the binary operators (eq … ge, add … div)
      expr(e.lhs, [...at, "lhs"], out);
      return expr(e.rhs, [...at, "rhs"], out);
  }
}

function extension(op: string, at: IssueKey[], out: Finding[]): void {
  out.push(finding([...at, "op"], `expression operator '${op}' is ${WHY}`));
}
