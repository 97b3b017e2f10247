/**
 * Normalizes the non-flow parts of a Blueprint (reference/blueprint.md §4.2 steps
 * 3–5): defaults are materialized and schema keys holding null are dropped, while
 * free-form values (`spec`, `extras`, hint values) are deep-copied as they are,
 * nulls and `__proto__` keys included.
 *
 * @module
 */
import type {
  AgentDef,
  AgentDefNorm,
  AgentKind,
  AgentMeta,
  AgentProfile,
  Blueprint,
  BlueprintNorm,
  MetaNorm,
  OperatorDef,
  OperatorDefNorm,
  Origin,
  ProfileNorm,
} from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { copyJson } from "../expr/mod.ts";

/** Copies the keys of `from` whose value is neither undefined nor null. */
function present<T extends object, K extends keyof T>(
  from: T,
  keys: readonly K[],
): { [P in K]?: NonNullable<T[P]> } {
  const out: { [P in K]?: NonNullable<T[P]> } = {};
  for (const key of keys) {
    const v = from[key];
    if (v !== undefined && v !== null) out[key] = v;
  }
  return out;
}

/** A copy of a free-form value, or undefined when it is absent or null. */
function freeForm(v: Json | undefined): Json | undefined {
  return v === undefined || v === null ? undefined : copyJson(v);
}

/** Adds `key` to `out` with a copy of `v`, unless `v` is absent or null. */
function withFreeForm<T extends object>(out: T, key: string, v: Json | undefined): T {
  const copy = freeForm(v);
  if (copy !== undefined) Object.assign(out, { [key]: copy });
  return out;
}

/** A persona with `system_prompt` and `tools` filled. */
export function normalizeProfile(p: AgentProfile): ProfileNorm {
  const out: ProfileNorm = {
    system_prompt: p.system_prompt ?? "",
    tools: [...(p.tools ?? [])],
    ...present(p, ["model", "effort", "description", "version_hash"]),
  };
  return withFreeForm(out, "extras", p.extras);
}

/** Agent metadata with `tags` filled. */
export function normalizeMeta(m: AgentMeta): MetaNorm {
  return { ...present(m, ["description", "version"]), tags: [...(m.tags ?? [])] };
}

/** An agent with its kind filled by `kind` when it has none. */
export function normalizeAgent(a: AgentDef, kind: AgentKind): AgentDefNorm {
  const out: AgentDefNorm = withFreeForm({ name: a.name, kind: a.kind ?? kind }, "spec", a.spec);
  if (a.profile) out.profile = normalizeProfile(a.profile);
  if (a.meta) out.meta = normalizeMeta(a.meta);
  return out;
}

/** An operator role without its null keys. */
export function normalizeOperator(o: OperatorDef): OperatorDefNorm {
  const out: OperatorDefNorm = withFreeForm(
    { name: o.name, ...present(o, ["display_name", "kind"]) },
    "spec",
    o.spec,
  );
  if (o.profile) out.profile = normalizeProfile(o.profile);
  if (o.meta) out.meta = normalizeMeta(o.meta);
  return out;
}

/** The origin with its extra keys dropped. */
export function normalizeOrigin(o: Origin | undefined): Origin {
  if (o === undefined || o.kind === "inline") return { kind: "inline" };
  if (o.kind === "file") return { kind: "file", path: o.path };
  return { kind: "algo", session_id: o.session_id };
}

/** `metadata` with `origin` and `tags` filled. */
export function normalizeMetadata(m: Blueprint["metadata"] = {}): BlueprintNorm["metadata"] {
  return {
    ...present(m, ["description"]),
    origin: normalizeOrigin(m.origin),
    tags: [...(m.tags ?? [])],
    ...present(m, ["version_label", "project_name_alias", "default_run_ttl_secs"]),
  };
}

/** `hints` with `per_agent` filled; hint values are kept as sent, nulls included. */
export function normalizeHints(h: Blueprint["hints"] = {}): BlueprintNorm["hints"] {
  const per_agent: Record<string, Json> = {};
  for (const [name, v] of Object.entries(h.per_agent ?? {})) {
    Object.defineProperty(per_agent, name, {
      value: copyJson(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return withFreeForm({ per_agent }, "global", h.global);
}
