/**
 * The Blueprint document pipeline (reference/blueprint.md §1, §4.2): limits, strict
 * parsing, expression compilation, kind filling, defaults, null removal and the
 * static checks of registration.
 *
 * @module
 */
import { type AgentKind, Blueprint, type BlueprintNorm } from "../../protocol/blueprint.ts";
import { issueAt, type IssueKey } from "../../protocol/issues.ts";
import { MAX_JSON_DEPTH } from "../../protocol/json.ts";
import { isBlueprintId } from "../../store/blueprint_store.ts";
import { type Finding, invalidDocument, issuesUnder, throwFindings } from "./_findings.ts";
import { zodIssues } from "./_issues.ts";
import { normalizeFlow } from "./_norm_flow.ts";
import {
  normalizeAgent,
  normalizeHints,
  normalizeMetadata,
  normalizeOperator,
} from "./_norm_parts.ts";
import {
  checkAgents,
  checkSchemaVersion,
  checkTemplates,
  checkVersionLabel,
} from "./_static_checks.ts";

/** The largest accepted document, in bytes of compact UTF-8 JSON. */
export const MAX_BLUEPRINT_BYTES = 1024 * 1024;

/** Options of {@link normalizeBlueprint}. */
export interface NormalizeOptions {
  /** The server's default agent kind: tier 2 of the `AgentDef.kind` fill order (§1.3). */
  defaultAgentKind?: AgentKind;
  /**
   * Run the registration-time static checks (agents, step refs, labels, templates).
   * Default true. Inline Blueprints of `/v1/tasks` skip them: the run's compile
   * stage reports those faults with the 0.1.2 texts and statuses instead.
   */
  staticChecks?: boolean;
  /**
   * Where the document sits in the request that carried it (`["blueprint", "value"]`
   * for an inline Blueprint), so that the paths of `issues` start at the request
   * body, as the body's own 422s do. Default `[]`. Error texts keep the document's
   * pointers.
   */
  at?: readonly IssueKey[];
}

/** True when `id` is a valid Blueprint series id (`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`). */
export function validateBlueprintId(id: string): boolean {
  return isBlueprintId(id);
}

/**
 * Checks nesting depth and well-formed strings without recursion, then the size.
 * Throws the `blueprint parse:` 422.
 */
function checkLimits(input: unknown): void {
  const stack: { v: unknown; depth: number; path: readonly IssueKey[] }[] = [
    { v: input, depth: 0, path: [] },
  ];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { v, depth, path } = top;
    if (typeof v === "string" && !v.isWellFormed()) {
      throw parseError(path, "string is not well-formed Unicode (lone surrogate)");
    }
    if (typeof v !== "object" || v === null) continue;
    if (depth + 1 > MAX_JSON_DEPTH) {
      throw parseError(path, `JSON nesting deeper than ${MAX_JSON_DEPTH} levels`);
    }
    for (const [k, x] of Object.entries(v)) {
      if (!k.isWellFormed()) {
        throw parseError(path, "key is not well-formed Unicode (lone surrogate)");
      }
      stack.push({ v: x, depth: depth + 1, path: [...path, Array.isArray(v) ? Number(k) : k] });
    }
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(input);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw parseError([], "not a JSON value");
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_BLUEPRINT_BYTES) {
    throw parseError(
      [],
      `document is ${bytes} bytes, more than the ${MAX_BLUEPRINT_BYTES} allowed`,
    );
  }
}

function parseError(path: readonly IssueKey[], message: string) {
  const issue = issueAt(path, message);
  const where = issue.pointer === "" ? "" : `${issue.pointer}: `;
  return invalidDocument("blueprint parse", `${where}${message}`, [issue]);
}

/**
 * Turns a Blueprint document as sent into its normalized form
 * (reference/blueprint.md §4.2 steps 1–6).
 *
 * Throws `SwitchboardError` (`invalid`, 422) with `extra.issues`
 * (`[{path, pointer, message}]`, protocol/issues.ts):
 * - `blueprint parse: <pointer>: <message>` when the document is too deep
 *   (> 128), too large (> 1 MiB) or not of the schema's shape;
 * - `blueprint invalid: <detail>` when an expression does not compile or a static
 *   check fails (unsupported agent kind, duplicate agent name, unresolved
 *   `operator_ref` or step ref, bad agent spec, non-semver label, bad template).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeBlueprint } from "./normalize.ts";
 * const bp = normalizeBlueprint({
 *   id: "hello",
 *   flow: { kind: "step", ref: "echo", in: "'hi'", out: "$.out" },
 *   agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
 * });
 * assert.deepEqual(bp.flow, {
 *   kind: "step",
 *   ref: "echo",
 *   in: { op: "lit", value: "hi" },
 *   out: { op: "path", at: "$.out" },
 * });
 * assert.equal(bp.schema_version, "0.1.0");
 * ```
 */
export function normalizeBlueprint(input: unknown, options: NormalizeOptions = {}): BlueprintNorm {
  const at = options.at ?? [];
  if (at.length === 0) return normalizeDocument(input, options);
  try {
    return normalizeDocument(input, options);
  } catch (err) {
    throw issuesUnder(err, at);
  }
}

function normalizeDocument(input: unknown, options: NormalizeOptions): BlueprintNorm {
  checkLimits(input);
  const parsed = Blueprint.safeParse(input);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error, input);
    const first = issues[0] ?? issueAt([], "invalid document");
    const where = first.pointer === "" ? "" : `${first.pointer}: `;
    throw invalidDocument("blueprint parse", `${where}${first.message}`, issues);
  }
  // Read the document itself from here on: it has just been validated, and zod's
  // output drops own `__proto__` keys from free-form values, which are data here.
  const doc = input as Blueprint;
  const fillKind = doc.default_agent_kind ?? options.defaultAgentKind ?? "operator";
  const agents = (doc.agents ?? []).map((a) => normalizeAgent(a, fillKind));
  const strategy = {
    strict_refs: doc.strategy?.strict_refs ?? true,
    strict_kind: doc.strategy?.strict_kind ?? true,
  };
  const findings: Finding[] = [];
  const checks = options.staticChecks ?? true;
  const names = checks && strategy.strict_refs ? new Set(agents.map((a) => a.name)) : null;
  const flowFindings: Finding[] = [];
  const flow = normalizeFlow(doc.flow, ["flow"], {
    agents: names,
    findings: flowFindings,
  });
  const bp: BlueprintNorm = {
    schema_version: doc.schema_version ?? "0.1.0",
    id: doc.id,
    flow,
    agents,
    operators: (doc.operators ?? []).map(normalizeOperator),
    hints: normalizeHints(doc.hints),
    strategy,
    metadata: normalizeMetadata(doc.metadata),
    spawner_hints: { layers: [...(doc.spawner_hints?.layers ?? [])] },
    default_agent_kind: doc.default_agent_kind ?? "operator",
  };
  if (doc.default_operator_kind) bp.default_operator_kind = doc.default_operator_kind;
  if (checks) {
    findings.push(...checkAgents(bp, (doc.agents ?? []).map((a) => a.kind !== undefined)));
  }
  findings.push(...flowFindings);
  findings.push(...checkSchemaVersion(bp));
  if (checks) findings.push(...checkVersionLabel(bp), ...checkTemplates(bp));
  throwFindings("blueprint invalid", findings);
  return bp;
}
