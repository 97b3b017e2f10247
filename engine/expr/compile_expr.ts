import type { Json, JsonObject } from "../../protocol/json.ts";
import type { BinaryOp, ExprInput, ExprNode, PathExpr } from "../../protocol/blueprint.ts";
import { ExprError } from "./expr_error.ts";
import { copyJson } from "./copy_json.ts";
import { setOwn } from "./_own.ts";
import { canonicalPath, pathSegments } from "./parse_path.ts";
import { exceedsBytes, MAX_TEXT_BYTES, parseExprText } from "./parse_expr_text.ts";
import { countNode } from "./_limits.ts";

const BINARY = new Set<string>(["eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div"]);

/**
 * Compiles an expression as sent (a tree whose nodes may be text strings) into a
 * canonical tree. Throws `ExprError`.
 */
export function compileExpr(input: ExprInput): ExprNode {
  return compile(input, 1, { nodes: 0 });
}

/**
 * Compiles a write target: it must be a path without index segments. Throws
 * `ExprError`.
 */
export function compileWriteTarget(input: ExprInput): PathExpr {
  const node = compileExpr(input);
  if (node.op !== "path") throw new ExprError("shape", "write target must be a path expression");
  if (pathSegments(node.at).some((seg) => "index" in seg)) {
    throw new ExprError("shape", `write target cannot use an array index: ${node.at}`);
  }
  return node;
}

type Counter = { nodes: number };

function compile(input: unknown, depth: number, counter: Counter): ExprNode {
  if (typeof input === "string") return compile(parseExprText(input), depth, counter);
  countNode(depth, counter);
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ExprError("shape", "an expression must be an object or a string");
  }
  const node = input as Record<string, unknown>; // an object, checked field by field below
  const op = node.op;
  const field = (name: string): unknown => {
    if (!Object.hasOwn(node, name) || node[name] === undefined) {
      throw new ExprError("shape", `expression op ${JSON.stringify(op)} requires field ${name}`);
    }
    return node[name];
  };
  const sub = (name: string) => compile(field(name), depth + 1, counter);
  const list = (name: string, nonEmpty: boolean): ExprNode[] => {
    const items = field(name);
    if (!Array.isArray(items) || (nonEmpty && items.length === 0)) {
      const what = nonEmpty ? "a non-empty array" : "an array";
      throw new ExprError("shape", `field ${name} of op ${String(op)} must be ${what}`);
    }
    return items.map((item) => compile(item, depth + 1, counter));
  };
  const path = (): string => {
    const at = field("at");
    if (typeof at !== "string") {
      throw new ExprError("shape", `field at of op ${String(op)} must be a string`);
    }
    // as long as an expression text may be: a tree's 1 MB path took 55 ms to parse
    // at each evaluation, and the path cache held it
    if (exceedsBytes(at, MAX_TEXT_BYTES)) {
      throw new ExprError("limit", `path longer than ${MAX_TEXT_BYTES} bytes`);
    }
    return canonicalPath(at);
  };

  if (typeof op === "string" && BINARY.has(op)) {
    return { op: op as BinaryOp, lhs: sub("lhs"), rhs: sub("rhs") }; // membership checked above
  }
  switch (op) {
    case "path":
      return { op, at: path() };
    case "exists":
      return { op, at: path() };
    case "lit":
      return { op, value: copyJson(field("value") as Json) }; // schema-validated JSON
    case "not":
      return { op, operand: sub("operand") };
    case "and":
    case "or":
      return { op, operands: list("operands", false) };
    case "coalesce":
    case "concat":
      return { op, operands: list("operands", true) };
    case "len":
      return { op, of: sub("of") };
    case "in":
      return { op, needle: sub("needle"), haystack: sub("haystack") };
    case "if":
      return { op, cond: sub("cond"), then: sub("then"), else: sub("else") };
    case "array": {
      const items = list("items", false);
      if (!items.every(isLit)) return { op, items };
      return { op: "lit", value: items.map((item) => (item as { value: Json }).value) };
    }
    case "object":
      return compileObject(field("fields"), depth, counter);
    default:
      throw new ExprError("shape", `unknown expression op: ${JSON.stringify(op) ?? String(op)}`);
  }
}

function isLit(node: ExprNode): boolean {
  return node.op === "lit";
}

function compileObject(input: unknown, depth: number, counter: Counter): ExprNode {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ExprError("shape", "field fields of op object must be an object");
  }
  const source = input as Record<string, unknown>; // a plain object, checked above
  const fields: Record<string, ExprNode> = {};
  for (const key of Object.keys(source)) {
    Object.defineProperty(fields, key, {
      value: compile(source[key], depth + 1, counter),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  const keys = Object.keys(fields);
  if (!keys.every((key) => isLit(fields[key]))) return { op: "object", fields };
  const value: JsonObject = {};
  for (const key of keys) setOwn(value, key, (fields[key] as { value: Json }).value);
  return { op: "lit", value };
}
