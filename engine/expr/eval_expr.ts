import type { Json, JsonObject } from "../../protocol/json.ts";
import type { ExprNode } from "../../protocol/blueprint.ts";
import { FlowError } from "./flow_error.ts";
import { previewJson } from "./compact_json.ts";
import { isTruthy } from "./is_truthy.ts";
import { jsonEquals } from "./json_equals.ts";
import { pathExists, readPath } from "./read_path.ts";
import { setOwn } from "./_own.ts";
import { exceedsBytes } from "./parse_expr_text.ts";
import { newWork, spend, type Work } from "./_work.ts";
import { keyCount } from "./_key_count.ts";

/** The longest `concat` result, in UTF-8 bytes. */
export const MAX_CONCAT_BYTES = 1024 * 1024;

/** How an evaluation reads paths and judges truthiness. */
export interface ExprEnv<R> {
  /** The value at `at`. Throws `FlowError` (kind `path`) when nothing is there. */
  read(root: R, at: string): Json;
  /** Whether a read of `at` would succeed. */
  exists(root: R, at: string): boolean;
  /** The truthiness used by `not`, `and` and `or`. */
  truthy(v: Json): boolean;
}

/** The flow environment: reads `$` paths in a ctx, flow truthiness. */
export const FLOW_ENV: ExprEnv<Json> = { read: readPath, exists: pathExists, truthy: isTruthy };

/**
 * Evaluates a compiled expression against a ctx. The result shares structure with
 * the ctx and the expression's literals (nothing is copied), so neither may be
 * mutated afterwards. Throws `FlowError` with the reference/blueprint.md §2.8 texts.
 */
export function evalExpr(expr: ExprNode, ctx: Json): Json {
  return evaluateExpr(expr, ctx, FLOW_ENV);
}

/**
 * Evaluates with a custom environment. The result may share structure with the
 * data it read (copy it before storing it). Comparisons and counts spend from
 * `work` (a fresh budget of `MAX_EXPR_WORK` units unless given: a caller that
 * evaluates many expressions for one result passes one budget to all). Throws
 * `FlowError`.
 */
export function evaluateExpr<R>(
  node: ExprNode,
  root: R,
  env: ExprEnv<R>,
  work: Work = newWork(),
): Json {
  switch (node.op) {
    case "path":
      return env.read(root, node.at);
    case "lit":
      return node.value;
    case "eq":
      return jsonEquals(
        evaluateExpr(node.lhs, root, env, work),
        evaluateExpr(node.rhs, root, env, work),
        work,
      );
    case "ne":
      return !jsonEquals(
        evaluateExpr(node.lhs, root, env, work),
        evaluateExpr(node.rhs, root, env, work),
        work,
      );
    case "lt":
    case "le":
    case "gt":
    case "ge":
    case "add":
    case "sub":
    case "mul":
    case "div": {
      const lhs = evaluateExpr(node.lhs, root, env, work);
      const rhs = evaluateExpr(node.rhs, root, env, work);
      return numeric(node.op, number(node.op, lhs), number(node.op, rhs));
    }
    case "not":
      return !env.truthy(evaluateExpr(node.operand, root, env, work));
    case "and":
      for (const x of node.operands) {
        if (!env.truthy(evaluateExpr(x, root, env, work))) return false;
      }
      return true;
    case "or":
      for (const x of node.operands) if (env.truthy(evaluateExpr(x, root, env, work))) return true;
      return false;
    case "exists":
      return env.exists(root, node.at);
    case "len":
      return length(evaluateExpr(node.of, root, env, work), work);
    case "in": {
      const needle = evaluateExpr(node.needle, root, env, work);
      const haystack = evaluateExpr(node.haystack, root, env, work);
      if (!Array.isArray(haystack)) {
        throw new FlowError(
          `type error in in: haystack must be an array, got ${previewJson(haystack)}`,
        );
      }
      return haystack.some((x) => jsonEquals(x, needle, work));
    }
    case "if": {
      const cond = evaluateExpr(node.cond, root, env, work);
      if (typeof cond !== "boolean") {
        throw new FlowError(`if cond must be boolean, got: ${previewJson(cond)}`, "condition");
      }
      return evaluateExpr(cond ? node.then : node.else, root, env, work);
    }
    case "coalesce":
      for (const x of node.operands) {
        let v: Json;
        try {
          v = evaluateExpr(x, root, env, work);
        } catch (e) {
          if (e instanceof FlowError && e.kind === "path") continue;
          throw e;
        }
        if (v !== null) return v;
      }
      return null;
    case "concat":
      return concat(node.operands.map((x) => evaluateExpr(x, root, env, work)));
    case "array":
      return node.items.map((x) => evaluateExpr(x, root, env, work));
    case "object": {
      const out: JsonObject = {};
      for (const key of Object.keys(node.fields)) {
        setOwn(out, key, evaluateExpr(node.fields[key], root, env, work));
      }
      return out;
    }
  }
}

function number(op: string, v: Json): number {
  if (typeof v !== "number") {
    throw new FlowError(`type error in ${op}: expected number, got ${previewJson(v)}`);
  }
  return v;
}

function numeric(op: string, a: number, b: number): Json {
  let r: number;
  switch (op) {
    case "lt":
      return a < b;
    case "le":
      return a <= b;
    case "gt":
      return a > b;
    case "ge":
      return a >= b;
    case "add":
      r = a + b;
      break;
    case "sub":
      r = a - b;
      break;
    case "mul":
      r = a * b;
      break;
    default:
      if (b === 0) throw new FlowError("arithmetic error in div: division by zero", "arithmetic");
      r = a / b;
  }
  if (!Number.isFinite(r)) {
    throw new FlowError(`arithmetic error in ${op}: result is not a finite number`, "arithmetic");
  }
  return r === 0 ? 0 : r; // no -0 in JSON
}

/**
 * `len`: array elements, string code points, object keys. Throws `FlowError`
 * otherwise. With `work`, counting a string spends a unit per 8 characters, an
 * object's keys are counted once (then remembered) and spend `KEY_UNITS` each.
 */
export function length(v: Json, work?: Work): number {
  if (Array.isArray(v)) return v.length;
  if (typeof v === "string") {
    if (work) spend(work, v.length >> 3);
    let n = v.length;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = v.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          n--;
          i++;
        }
      }
    }
    return n;
  }
  if (typeof v === "object" && v !== null) return keyCount(v, work);
  throw new FlowError(`type error in len: unsupported type ${previewJson(v)}`);
}

// Characters bound bytes from below: the loop checks them (measuring the bytes of
// the growing text at each part cost 0.3 s for 500 parts), the end the bytes once.
function concat(parts: Json[]): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "string") out += part;
    else if (typeof part === "number") out += JSON.stringify(part);
    else {throw new FlowError(
        `type error in concat: expected string or number, got ${previewJson(part)}`,
      );}
    if (out.length > MAX_CONCAT_BYTES) throw concatTooLong();
  }
  if (exceedsBytes(out, MAX_CONCAT_BYTES)) throw concatTooLong();
  return out;
}

function concatTooLong(): FlowError {
  return new FlowError(`concat result longer than ${MAX_CONCAT_BYTES} bytes`, "limit");
}
