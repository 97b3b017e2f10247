/**
 * The Blueprint document (reference/blueprint.md §1–§2): the flow IR nodes, the
 * expression trees (plus the compact text form, a string wherever an Expr goes),
 * agents, operators and metadata. Every schema object rejects unknown keys, except
 * `metadata.origin`.
 *
 * These schemas accept what a user may send. Normalization (engine/blueprint)
 * compiles expression strings to trees, fills defaults and removes nulls.
 *
 * @module
 */
import { z } from "./zod.ts";
import { Json } from "./json.ts";

// ---------------------------------------------------------------------------
// Expressions

const BINARY_OPS = ["eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div"] as const;
/** Binary expression operators (`lhs`, `rhs`). */
export type BinaryOp = (typeof BINARY_OPS)[number];

/** A path expression: `{op:"path", at:"$.a.b"}`. */
export const PathExpr = z.strictObject({ op: z.literal("path"), at: z.string() });
export type PathExpr = z.infer<typeof PathExpr>;

/** An expression tree, or a compact-text expression string (compiled at load). */
export const Expr: z.ZodType<ExprInput> = z.lazy(() => z.union([z.string(), ExprTree]));

/** An expression tree node, tagged by `op`. */
export const ExprTree: z.ZodType<ExprTreeInput> = z.lazy(() =>
  z.discriminatedUnion("op", [
    PathExpr,
    z.strictObject({ op: z.literal("lit"), value: Json }),
    ...BINARY_OPS.map((op) => z.strictObject({ op: z.literal(op), lhs: Expr, rhs: Expr })),
    z.strictObject({ op: z.literal("not"), operand: Expr }),
    z.strictObject({ op: z.literal("and"), operands: z.array(Expr) }),
    z.strictObject({ op: z.literal("or"), operands: z.array(Expr) }),
    z.strictObject({ op: z.literal("exists"), at: z.string() }),
    z.strictObject({ op: z.literal("len"), of: Expr }),
    z.strictObject({ op: z.literal("in"), needle: Expr, haystack: Expr }),
    z.strictObject({ op: z.literal("if"), cond: Expr, then: Expr, else: Expr }),
    z.strictObject({ op: z.literal("coalesce"), operands: z.array(Expr).min(1) }),
    z.strictObject({ op: z.literal("concat"), operands: z.array(Expr).min(1) }),
    z.strictObject({ op: z.literal("array"), items: z.array(Expr) }),
    z.strictObject({ op: z.literal("object"), fields: z.record(z.string(), Expr) }),
  ])
);

// The recursive types are declared once here because zod cannot infer a type
// through z.lazy; every other type in this file is inferred.

/** An expression as sent: a tree or a text string. */
export type ExprInput = string | ExprTreeInput;
/** An expression tree as sent (its children may still be strings). */
export type ExprTreeInput =
  | PathExpr
  | { op: "lit"; value: Json }
  | { op: BinaryOp; lhs: ExprInput; rhs: ExprInput }
  | { op: "not"; operand: ExprInput }
  | { op: "and" | "or" | "coalesce" | "concat"; operands: ExprInput[] }
  | { op: "exists"; at: string }
  | { op: "len"; of: ExprInput }
  | { op: "in"; needle: ExprInput; haystack: ExprInput }
  | { op: "if"; cond: ExprInput; then: ExprInput; else: ExprInput }
  | { op: "array"; items: ExprInput[] }
  | { op: "object"; fields: Record<string, ExprInput> };

// ---------------------------------------------------------------------------
// Flow nodes

/** The join modes of a fanout. */
export const FanoutJoin = z.enum(["all", "any", "race", "all_settled"]);
export type FanoutJoin = z.infer<typeof FanoutJoin>;

/** What an `ask` node does when its `timeout_secs` passes. */
export const AskTimeoutPolicy = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("fail") }),
  z.strictObject({ kind: z.literal("default"), value: Json }),
  z.strictObject({
    kind: z.literal("escalate"),
    to: z.string().min(1),
    timeout_secs: z.int().min(1).max(31_536_000).optional(),
  }),
]);
export type AskTimeoutPolicy = z.infer<typeof AskTimeoutPolicy>;

/** A JSON Schema for an `ask` answer: an object (checked with Ajv at normalization). */
export const AnswerSchema = z.record(z.string(), Json);
export type AnswerSchema = z.infer<typeof AnswerSchema>;

/** A flow node, tagged by `kind` (the seven kinds of flow-ir 0.0.5, plus `ask`). */
export const FlowNode: z.ZodType<FlowNodeInput> = z.lazy(() =>
  z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("step"), ref: z.string(), in: Expr, out: Expr }),
    z.strictObject({ kind: z.literal("seq"), children: z.array(FlowNode) }),
    z.strictObject({ kind: z.literal("branch"), cond: Expr, then: FlowNode, else: FlowNode }),
    z.strictObject({
      kind: z.literal("fanout"),
      items: Expr,
      bind: Expr,
      body: FlowNode,
      join: FanoutJoin,
      out: Expr,
    }),
    z.strictObject({
      kind: z.literal("loop"),
      counter: Expr,
      cond: Expr,
      body: FlowNode,
      max: z.int().min(0).max(4294967295),
    }),
    z.strictObject({
      kind: z.literal("try"),
      body: FlowNode,
      catch: FlowNode,
      err_at: Expr.nullish(),
    }),
    z.strictObject({ kind: z.literal("assign"), at: Expr, value: Expr }),
    z.strictObject({
      kind: z.literal("ask"),
      to: z.string().min(1),
      question: Expr,
      schema: AnswerSchema.optional(),
      timeout_secs: z.int().min(1).max(31_536_000).optional(),
      on_timeout: AskTimeoutPolicy.optional(),
      out: Expr,
    }),
  ])
);

/** A flow node as sent. */
export type FlowNodeInput =
  | { kind: "step"; ref: string; in: ExprInput; out: ExprInput }
  | { kind: "seq"; children: FlowNodeInput[] }
  | { kind: "branch"; cond: ExprInput; then: FlowNodeInput; else: FlowNodeInput }
  | {
    kind: "fanout";
    items: ExprInput;
    bind: ExprInput;
    body: FlowNodeInput;
    join: FanoutJoin;
    out: ExprInput;
  }
  | { kind: "loop"; counter: ExprInput; cond: ExprInput; body: FlowNodeInput; max: number }
  | { kind: "try"; body: FlowNodeInput; catch: FlowNodeInput; err_at?: ExprInput | null }
  | { kind: "assign"; at: ExprInput; value: ExprInput }
  | {
    kind: "ask";
    to: string;
    question: ExprInput;
    schema?: AnswerSchema;
    timeout_secs?: number;
    on_timeout?: AskTimeoutPolicy;
    out: ExprInput;
  };

// ---------------------------------------------------------------------------
// Agents, operators, metadata

/** Agent kinds on the wire. `lua` and `agent_block` parse but are refused at validation. */
export const AgentKind = z.enum(["lua", "rust_fn", "agent_block", "subprocess", "operator"]);
export type AgentKind = z.infer<typeof AgentKind>;

/** The run-global or per-agent operator kind. */
export const OperatorKind = z.enum(["main_ai", "automate", "composite"]);
export type OperatorKind = z.infer<typeof OperatorKind>;

/** A persona. Every field is optional. */
export const AgentProfile = z.strictObject({
  system_prompt: z.string().optional(),
  model: z.string().nullish(),
  effort: z.string().nullish(),
  tools: z.array(z.string()).optional(),
  description: z.string().nullish(),
  extras: Json.optional(),
  version_hash: z.string().nullish(),
});
export type AgentProfile = z.infer<typeof AgentProfile>;

/** Informational agent metadata. */
export const AgentMeta = z.strictObject({
  description: z.string().nullish(),
  version: z.string().nullish(),
  tags: z.array(z.string()).optional(),
});
export type AgentMeta = z.infer<typeof AgentMeta>;

/** An agent that `step.ref` can target. `kind` is filled at normalization when absent. */
export const AgentDef = z.strictObject({
  name: z.string(),
  kind: AgentKind.optional(),
  spec: Json.optional(),
  profile: AgentProfile.nullish(),
  meta: AgentMeta.nullish(),
});
export type AgentDef = z.infer<typeof AgentDef>;

/** A design-time operator role that `spec.operator_ref` refers to. */
export const OperatorDef = z.strictObject({
  name: z.string(),
  display_name: z.string().nullish(),
  kind: OperatorKind.nullish(),
  spec: Json.optional(),
  profile: AgentProfile.nullish(),
  meta: AgentMeta.nullish(),
});
export type OperatorDef = z.infer<typeof OperatorDef>;

/** Where a Blueprint came from. Extra keys are ignored. */
export const Origin = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("inline") }),
  z.object({ kind: z.literal("file"), path: z.string() }),
  z.object({ kind: z.literal("algo"), session_id: z.string() }),
]);
export type Origin = z.infer<typeof Origin>;

/** Blueprint metadata. */
export const Metadata = z.strictObject({
  description: z.string().nullish(),
  origin: Origin.optional(),
  tags: z.array(z.string()).optional(),
  /** Semver, at most 256 characters (as node-semver): every history entry carries it. */
  version_label: z.string().max(256).nullish(),
  project_name_alias: z.string().nullish(),
  default_run_ttl_secs: z.int().min(1).max(31_536_000).nullish(),
});
export type Metadata = z.infer<typeof Metadata>;

/** The Blueprint document as a user sends it. */
export const Blueprint = z.strictObject({
  schema_version: z.string().optional(),
  id: z.string(),
  flow: FlowNode,
  agents: z.array(AgentDef).optional(),
  operators: z.array(OperatorDef).optional(),
  hints: z.strictObject({
    per_agent: z.record(z.string(), Json).optional(),
    global: Json.optional(),
  }).optional(),
  strategy: z.strictObject({
    strict_refs: z.boolean().optional(),
    strict_kind: z.boolean().optional(),
  }).optional(),
  metadata: Metadata.optional(),
  spawner_hints: z.strictObject({ layers: z.array(z.string()).optional() }).optional(),
  default_agent_kind: AgentKind.optional(),
  default_operator_kind: OperatorKind.nullish(),
});
/** The Blueprint document as a user sends it. */
export type Blueprint = z.infer<typeof Blueprint>;

// ---------------------------------------------------------------------------
// References to stored Blueprints

/** Picks a version of a stored Blueprint. */
export const VersionSelector = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("latest") }),
  z.object({ kind: z.literal("fixed"), value: z.string().regex(/^[0-9a-fA-F]{64}$/) }),
  z.object({ kind: z.literal("semver_req"), req: z.string().min(1) }),
]);
export type VersionSelector = z.infer<typeof VersionSelector>;

/** A Blueprint given inline or by id. */
export const BlueprintRef = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("inline"), value: Blueprint }),
  z.object({ kind: z.literal("id"), id: z.string(), version: VersionSelector.optional() }),
]);
export type BlueprintRef = z.infer<typeof BlueprintRef>;

// ---------------------------------------------------------------------------
// The normalized form (reference/blueprint.md §4.2): what the store keeps, hashes
// and returns, and what the engine runs. Expression strings are compiled to trees,
// defaults are materialized and schema keys holding null are removed. These types
// describe the output of normalization, which has no schema of its own.

/** A compiled expression tree: every child is a tree, every path canonical. */
export type ExprNode =
  | PathExpr
  | { op: "lit"; value: Json }
  | { op: BinaryOp; lhs: ExprNode; rhs: ExprNode }
  | { op: "not"; operand: ExprNode }
  | { op: "and" | "or" | "coalesce" | "concat"; operands: ExprNode[] }
  | { op: "exists"; at: string }
  | { op: "len"; of: ExprNode }
  | { op: "in"; needle: ExprNode; haystack: ExprNode }
  | { op: "if"; cond: ExprNode; then: ExprNode; else: ExprNode }
  | { op: "array"; items: ExprNode[] }
  | { op: "object"; fields: Record<string, ExprNode> };

/** A normalized flow node: expressions are trees and write targets are paths. */
export type FlowNodeNorm =
  | { kind: "step"; ref: string; in: ExprNode; out: PathExpr }
  | { kind: "seq"; children: FlowNodeNorm[] }
  | { kind: "branch"; cond: ExprNode; then: FlowNodeNorm; else: FlowNodeNorm }
  | {
    kind: "fanout";
    items: ExprNode;
    bind: PathExpr;
    body: FlowNodeNorm;
    join: FanoutJoin;
    out: PathExpr;
  }
  | { kind: "loop"; counter: PathExpr; cond: ExprNode; body: FlowNodeNorm; max: number }
  | { kind: "try"; body: FlowNodeNorm; catch: FlowNodeNorm; err_at?: PathExpr }
  | { kind: "assign"; at: PathExpr; value: ExprNode }
  | AskNodeNorm;

/** A normalized `ask` node: the seat holding `to` (a role or sid) answers `question`. */
export type AskNodeNorm = {
  kind: "ask";
  to: string;
  question: ExprNode;
  schema?: AnswerSchema;
  timeout_secs?: number;
  on_timeout?: AskTimeoutPolicy;
  out: PathExpr;
};

/** A normalized persona. */
export type ProfileNorm = {
  system_prompt: string;
  tools: string[];
  model?: string;
  effort?: string;
  description?: string;
  extras?: Json;
  version_hash?: string;
};

/** Normalized agent metadata. */
export type MetaNorm = { description?: string; version?: string; tags: string[] };

/** A normalized agent: `kind` is always present. */
export type AgentDefNorm = {
  name: string;
  kind: AgentKind;
  spec?: Json;
  profile?: ProfileNorm;
  meta?: MetaNorm;
};

/** A normalized operator role. */
export type OperatorDefNorm = {
  name: string;
  display_name?: string;
  kind?: OperatorKind;
  spec?: Json;
  profile?: ProfileNorm;
  meta?: MetaNorm;
};

/** A normalized Blueprint: the stored, hashed and executed form. */
export type BlueprintNorm = {
  schema_version: string;
  id: string;
  flow: FlowNodeNorm;
  agents: AgentDefNorm[];
  operators: OperatorDefNorm[];
  hints: { per_agent: Record<string, Json>; global?: Json };
  strategy: { strict_refs: boolean; strict_kind: boolean };
  metadata: {
    description?: string;
    origin: Origin;
    tags: string[];
    version_label?: string;
    project_name_alias?: string;
    default_run_ttl_secs?: number;
  };
  spawner_hints: { layers: string[] };
  default_agent_kind: AgentKind;
  default_operator_kind?: OperatorKind;
};
