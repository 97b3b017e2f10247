/**
 * Blueprint types for building documents in code, derived from the server's
 * zod schemas (protocol/blueprint.ts), so a new flow node kind there appears
 * here by itself. The flow is a discriminated union on `kind`: a wrong `kind`
 * or a missing field is a type error, with no `as const` needed once the value
 * is typed (annotate it, or pass it through {@link defineBlueprint}).
 *
 * @example A Blueprint in code
 * ```ts
 * import { defineBlueprint } from "./blueprint.ts";
 * const greet = defineBlueprint({
 *   id: "greet",
 *   agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
 *   flow: { kind: "step", ref: "echo", in: "$.name", out: "$.greeting" },
 * });
 * ```
 *
 * @module
 */
import type {
  AgentDef as AgentDefSchema,
  Blueprint as BlueprintSchema,
  BlueprintRef as BlueprintRefSchema,
  ExprInput,
  Metadata as MetadataSchema,
  OperatorDef as OperatorDefSchema,
  VersionSelector as VersionSelectorSchema,
} from "../protocol/blueprint.ts";

/** A Blueprint document as sent to the server. */
export type Blueprint = BlueprintSchema;
/** A flow node: one member per `kind` (`step`, `seq`, `branch`, `fanout`, …). */
export type FlowNode = Blueprint["flow"];
/** The `kind` of a flow node. */
export type FlowNodeKind = FlowNode["kind"];
/** One member of {@link FlowNode} by its `kind`, for example `FlowNodeOf<"step">`. */
export type FlowNodeOf<K extends FlowNodeKind> = Extract<FlowNode, { kind: K }>;
/** An expression: a tree, or its compact text form (`"$.a + 1"`). */
export type Expr = ExprInput;
/** An agent that a `step` can target. */
export type AgentDef = AgentDefSchema;
/** A design-time operator role. */
export type OperatorDef = OperatorDefSchema;
/** Blueprint metadata. */
export type Metadata = MetadataSchema;
/** Picks a version of a stored Blueprint. */
export type VersionSelector = VersionSelectorSchema;
/** A Blueprint given inline or by id, as in `POST /v1/tasks`. */
export type BlueprintRef = BlueprintRefSchema;

/** Returns `blueprint` unchanged, typed as a {@link Blueprint} (no `as const` needed). */
export function defineBlueprint(blueprint: Blueprint): Blueprint {
  return blueprint;
}
