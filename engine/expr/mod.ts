/**
 * The expression language of flows (reference/blueprint.md §2.2–§2.4, §3.2–§3.3,
 * §3.5): paths, the compact text syntax, the compiler to canonical trees and the
 * pure evaluator. Load-time problems throw {@link ExprError}; run-time problems
 * throw {@link FlowError} with the normative §2.8 texts.
 *
 * @example Compile and evaluate
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileExpr, evalExpr } from "./mod.ts";
 * const cond = compileExpr("$.verdict in ['PASS', 'ALLOW']");
 * assert.deepEqual(cond, {
 *   op: "in",
 *   needle: { op: "path", at: "$.verdict" },
 *   haystack: { op: "lit", value: ["PASS", "ALLOW"] },
 * });
 * assert.equal(evalExpr(cond, { verdict: "PASS" }), true);
 * ```
 *
 * @module
 */
export { ExprError, type ExprErrorKind, type ExprErrorOptions } from "./expr_error.ts";
export { FlowError, type FlowErrorKind } from "./flow_error.ts";
export { compileExpr, compileWriteTarget } from "./compile_expr.ts";
export { checkExprLimits, MAX_EXPR_DEPTH, MAX_EXPR_NODES } from "./_limits.ts";
export {
  type EmbeddedExpr,
  type EmbeddedExprOptions,
  exceedsBytes,
  type ExprFilter,
  MAX_TEXT_BYTES,
  parseEmbeddedExpr,
  parseExprText,
} from "./parse_expr_text.ts";
export { canonicalPath, formatPath, parsePath, pathMemo, type PathSegment } from "./parse_path.ts";
export { pathExists, readPath, walkPath } from "./read_path.ts";
export { type CopyWatch, writePath, writeShared } from "./write_path.ts";
export { jsonBytes } from "./json_bytes.ts";
export { getOwn, isObject, setOwn } from "./_own.ts";
export {
  evalExpr,
  evaluateExpr,
  type ExprEnv,
  FLOW_ENV,
  length,
  MAX_CONCAT_BYTES,
} from "./eval_expr.ts";
export { isTruthy } from "./is_truthy.ts";
export { jsonEquals } from "./json_equals.ts";
export {
  compactJson,
  compactJsonPrefix,
  compactJsonWithin,
  compareKeys,
  directiveText,
  PREVIEW_CHARS,
  previewJson,
  sortedKeys,
} from "./compact_json.ts";
export { MAX_EXPR_WORK, newWork, spend, type Work } from "./_work.ts";
export { KEY_UNITS, keyCount } from "./_key_count.ts";
export { copyJson } from "./copy_json.ts";
