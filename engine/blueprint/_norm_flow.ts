/**
 * Normalizes the flow tree: every expression (tree or text) is compiled to a
 * canonical tree, every write target to a path, and step refs are checked against
 * the agents when `strategy.strict_refs` holds. Problems become findings with the
 * path of their position; the tree returned then holds placeholders.
 *
 * @module
 */
import type {
  ExprInput,
  ExprNode,
  FlowNodeInput,
  FlowNodeNorm,
  PathExpr,
} from "../../protocol/blueprint.ts";
import { type IssueKey, jsonPointer } from "../../protocol/issues.ts";
import { compileExpr, compileWriteTarget, copyJson, ExprError } from "../expr/mod.ts";
import { type Finding, finding } from "./_findings.ts";

/** What the walk needs to know and where it reports. */
export interface FlowWalk {
  /** Agent names, or null when refs are not checked (`strict_refs: false`). */
  agents: ReadonlySet<string> | null;
  findings: Finding[];
}

const PLACEHOLDER: PathExpr = { op: "path", at: "$" };

/** A position in the document: the keys from its root. */
type At = readonly IssueKey[];

function compileAt<T extends ExprNode>(
  compile: (input: ExprInput) => T,
  input: ExprInput,
  at: At,
  walk: FlowWalk,
): T | PathExpr {
  try {
    return compile(input);
  } catch (err) {
    if (!(err instanceof ExprError)) throw err;
    walk.findings.push(finding(at, err.message, `${jsonPointer(at)}: ${err.message}`));
    return PLACEHOLDER;
  }
}

function expr(input: ExprInput, at: At, walk: FlowWalk): ExprNode {
  return compileAt(compileExpr, input, at, walk);
}

function target(input: ExprInput, at: At, walk: FlowWalk): PathExpr {
  return compileAt(compileWriteTarget, input, at, walk);
}

/** Normalizes `node`, found at `at`. */
export function normalizeFlow(node: FlowNodeInput, at: At, walk: FlowWalk): FlowNodeNorm {
  switch (node.kind) {
    case "step":
      if (walk.agents !== null && !walk.agents.has(node.ref)) {
        const message = `flow references agent '${node.ref}' but no AgentDef matches`;
        walk.findings.push(finding([...at, "ref"], message));
      }
      return {
        kind: "step",
        ref: node.ref,
        in: expr(node.in, [...at, "in"], walk),
        out: target(node.out, [...at, "out"], walk),
      };
    case "seq":
      return {
        kind: "seq",
        children: node.children.map((child, i) =>
          normalizeFlow(child, [...at, "children", i], walk)
        ),
      };
    case "branch":
      return {
        kind: "branch",
        cond: expr(node.cond, [...at, "cond"], walk),
        then: normalizeFlow(node.then, [...at, "then"], walk),
        else: normalizeFlow(node.else, [...at, "else"], walk),
      };
    case "fanout":
      return {
        kind: "fanout",
        items: expr(node.items, [...at, "items"], walk),
        bind: target(node.bind, [...at, "bind"], walk),
        body: normalizeFlow(node.body, [...at, "body"], walk),
        join: node.join,
        out: target(node.out, [...at, "out"], walk),
      };
    case "loop":
      return {
        kind: "loop",
        counter: target(node.counter, [...at, "counter"], walk),
        cond: expr(node.cond, [...at, "cond"], walk),
        body: normalizeFlow(node.body, [...at, "body"], walk),
        max: node.max,
      };
    case "try": {
      const out: FlowNodeNorm = {
        kind: "try",
        body: normalizeFlow(node.body, [...at, "body"], walk),
        catch: normalizeFlow(node.catch, [...at, "catch"], walk),
      };
      if (node.err_at !== undefined && node.err_at !== null) {
        out.err_at = target(node.err_at, [...at, "err_at"], walk);
      }
      return out;
    }
    case "assign":
      return {
        kind: "assign",
        at: target(node.at, [...at, "at"], walk),
        value: expr(node.value, [...at, "value"], walk),
      };
    case "ask":
      return normalizeAsk(node, at, walk);
  }
}

/**
 * An `ask` node: its `to` and escalation name a seat. Its schema is compiled
 * afterwards, off the event loop (ask_schemas.ts).
 */
function normalizeAsk(
  node: Extract<FlowNodeInput, { kind: "ask" }>,
  at: At,
  walk: FlowWalk,
): FlowNodeNorm {
  const out: Extract<FlowNodeNorm, { kind: "ask" }> = {
    kind: "ask",
    to: node.to,
    question: expr(node.question, [...at, "question"], walk),
    out: target(node.out, [...at, "out"], walk),
  };
  if (node.schema !== undefined) {
    out.schema = copyJson(node.schema) as typeof node.schema; // a copy of an object is one
  }
  if (node.timeout_secs !== undefined) out.timeout_secs = node.timeout_secs;
  if (node.on_timeout !== undefined) {
    if (node.timeout_secs === undefined) {
      walk.findings.push(finding([...at, "on_timeout"], "ask on_timeout needs timeout_secs"));
    }
    out.on_timeout = copyJson(node.on_timeout) as typeof node.on_timeout; // same shape
  }
  return out;
}
