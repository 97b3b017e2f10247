/**
 * The static checks of registration (reference/blueprint.md §1.10, TS): the ones
 * that need no live state. Agents are checked in the compile order of 0.1.2
 * (operator refs, then per agent: kind, unique name, spec); then labels and
 * templates. Live checks (`fn_id` registered, operator session present) stay at
 * run time.
 *
 * @module
 */
import type { AgentDefNorm, BlueprintNorm } from "../../protocol/blueprint.ts";
import type { IssueKey } from "../../protocol/issues.ts";
import type { Json } from "../../protocol/json.ts";
import { parseSemverStrict, SemverSyntaxError } from "../semver/mod.ts";
import { checkTemplate, TemplateError } from "../template/mod.ts";
import { type Finding, finding } from "./_findings.ts";

const UNSUPPORTED_KIND: Partial<Record<AgentDefNorm["kind"], string>> = {
  lua: "agent kind 'lua' is not supported: Switchboard has no Lua; " +
    "use rust_fn with a registered TypeScript function",
  agent_block: "agent kind 'agent_block' is not supported: Switchboard has no agent_block " +
    "workers; use operator or rust_fn",
};

const STREAM_MODES = new Set(["ndjson_lines", "sse_events", "length_prefixed"]);

function field(spec: Json | undefined, key: string): Json | undefined {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return undefined;
  return Object.hasOwn(spec, key) ? spec[key] : undefined;
}

/** The spec problem of one agent, as `[spec key, message]`, or undefined. */
function specProblem(a: AgentDefNorm): [string, string] | undefined {
  switch (a.kind) {
    case "rust_fn":
      if (typeof field(a.spec, "fn_id") !== "string") {
        return ["fn_id", "rust_fn spec: 'fn_id' (string) required"];
      }
      return undefined;
    case "operator":
      if (typeof field(a.spec, "operator_ref") !== "string") {
        return ["operator_ref", "operator spec: 'operator_ref' (string) required"];
      }
      return undefined;
    case "subprocess": {
      if (typeof field(a.spec, "program") !== "string") {
        return ["program", "shell spec: 'program' (string) required"];
      }
      const mode = field(a.spec, "stream_mode");
      if (typeof mode === "string" && !STREAM_MODES.has(mode)) {
        return ["stream_mode", `unknown stream_mode: ${mode}`];
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Checks the agents; `explicitKind[i]` tells whether agent i sent its own `kind`. */
export function checkAgents(bp: BlueprintNorm, explicitKind: readonly boolean[]): Finding[] {
  const out: Finding[] = [];
  const operatorNames = bp.operators.map((o) => o.name);
  bp.agents.forEach((a, i) => {
    const ref = field(a.spec, "operator_ref");
    if (a.kind === "operator" && typeof ref === "string" && !operatorNames.includes(ref)) {
      out.push(finding(
        ["agents", i, "spec", "operator_ref"],
        `agent '${a.name}' operator_ref '${ref}' does not match any OperatorDef.name in ` +
          `Blueprint.operators (defined: [${operatorNames.join(", ")}])`,
      ));
    }
  });
  const seen = new Set<string>();
  bp.agents.forEach((a, i) => {
    const unsupported = UNSUPPORTED_KIND[a.kind];
    if (unsupported !== undefined) {
      const at = explicitKind[i] ? ["agents", i, "kind"] : ["agents", i];
      out.push(finding(at, `${unsupported} (agent '${a.name}')`));
    }
    if (seen.has(a.name)) {
      out.push(finding(["agents", i, "name"], `duplicate AgentDef name: ${a.name}`));
    }
    seen.add(a.name);
    const problem = unsupported === undefined ? specProblem(a) : undefined;
    if (problem !== undefined) {
      const [sub, message] = problem;
      const at = typeof a.spec === "object" && a.spec !== null && !Array.isArray(a.spec)
        ? ["agents", i, "spec", sub]
        : ["agents", i, "spec"];
      out.push(finding(at, `agent '${a.name}' spec invalid: ${message}`));
    }
  });
  return out;
}

function semverFinding(at: readonly IssueKey[], what: string, text: string): Finding[] {
  try {
    parseSemverStrict(text);
    return [];
  } catch (err) {
    if (!(err instanceof SemverSyntaxError)) throw err;
    return [finding(at, `${what} '${text}' is not semver: ${err.detail}`)];
  }
}

/**
 * Checks that `schema_version` is strict semver: a parse check in 0.1.2 (stage
 * P), so inline Blueprints get it too.
 */
export function checkSchemaVersion(bp: BlueprintNorm): Finding[] {
  return semverFinding(["schema_version"], "schema_version", bp.schema_version);
}

/** Checks that `metadata.version_label` is strict semver (a registration check). */
export function checkVersionLabel(bp: BlueprintNorm): Finding[] {
  const label = bp.metadata.version_label;
  if (label === undefined) return [];
  return semverFinding(["metadata", "version_label"], "metadata.version_label", label);
}

/**
 * Checks that the `profile.system_prompt` of every `operator` agent parses as a
 * template. Only operator agents render it (§2.7); other kinds ignore it.
 */
export function checkTemplates(bp: BlueprintNorm): Finding[] {
  const out: Finding[] = [];
  bp.agents.forEach((a, i) => {
    if (a.kind !== "operator" || a.profile === undefined) return;
    try {
      checkTemplate(a.profile.system_prompt);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const message = `agent '${a.name}' profile.system_prompt: ${err.message}`;
      out.push(finding(["agents", i, "profile", "system_prompt"], message));
    }
  });
  return out;
}
