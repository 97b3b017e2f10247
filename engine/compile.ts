/**
 * Compile and link (reference/engine.md §3.2–§3.3): agents become spawners by
 * kind, step refs are checked, and the hint layers wrap the routing table, the
 * last listed outermost.
 *
 * @module
 */
import type {
  AgentDefNorm,
  AgentKind,
  BlueprintNorm,
  FlowNodeNorm,
} from "../protocol/blueprint.ts";
import type { Operator } from "./faces.ts";
import { flowNodes } from "../protocol/flow_nodes.ts";
import { HINT_LAYERS } from "./layers.ts";
import { type Spawner, SpawnError } from "./spawner.ts";
import { functionWorker, type WorkerFn } from "./workers/function.ts";
import { type WebhookConfig, webhookWorker } from "./workers/webhook.ts";
import { operatorAgentWorker } from "./workers/operator_agent.ts";
import { subprocessSpec, subprocessWorker } from "./workers/subprocess.ts";
import type { ChildReaper } from "./workers/child_reaper.ts";

/** A compile-stage failure (`launch: compile: <message>`). */
export class CompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompileError";
  }
}

/** What compilation looks things up in. */
export interface CompileEnv {
  functions: ReadonlyMap<string, WorkerFn>;
  webhooks: ReadonlyMap<string, WebhookConfig>;
  operators: ReadonlyMap<string, Operator>;
  publicUrl: string;
  /** Runs `subprocess` agents (`SWITCHBOARD_ALLOW_SUBPROCESS=1`); off: their kind is unknown. */
  allowSubprocess?: boolean;
  /** Ends the subprocess agents' children if the server dies without exiting. */
  childReaper?: ChildReaper;
  /**
   * Finds the seat an `operator_ref` names for this run (scoped seats first);
   * default: `operators`. Looked up again at each attempt.
   */
  resolveOperator?(name: string): Operator | undefined;
}

const KIND_DEBUG: Record<AgentKind, string> = {
  lua: "Lua",
  rust_fn: "RustFn",
  agent_block: "AgentBlock",
  subprocess: "Subprocess",
  operator: "Operator",
};

function specString(agent: AgentDefNorm, key: string): string | undefined {
  const spec = agent.spec;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return undefined;
  const value = spec[key];
  return typeof value === "string" ? value : undefined;
}

function buildAgent(agent: AgentDefNorm, env: CompileEnv): Spawner | undefined {
  const invalid = (msg: string) => new CompileError(`agent '${agent.name}' spec invalid: ${msg}`);
  switch (agent.kind) {
    case "rust_fn": {
      const fnId = specString(agent, "fn_id");
      if (fnId === undefined) throw invalid("rust_fn spec: 'fn_id' (string) required");
      const fn = env.functions.get(fnId);
      if (fn) return functionWorker(fn);
      const hook = env.webhooks.get(fnId);
      if (hook) return webhookWorker(hook, env.publicUrl);
      throw invalid(`fn_id '${fnId}' not registered in factory`);
    }
    case "operator": {
      const ref = specString(agent, "operator_ref");
      if (ref === undefined) throw invalid("operator spec: 'operator_ref' (string) required");
      const resolve = env.resolveOperator ?? ((name: string) => env.operators.get(name));
      const operator = resolve(ref);
      if (!operator) {
        const names = [...env.operators.keys()].sort();
        throw invalid(
          `operator_ref '${ref}' not registered in factory. Registered sids: [${
            names.length ? names.join(", ") : "<none>"
          }]. Hint: call mse_operator_join(roles=[...]) to mint the sid first.`,
        );
      }
      return operatorAgentWorker(agent, () => resolve(ref));
    }
    case "subprocess": {
      if (!env.allowSubprocess) return undefined;
      const spec = subprocessSpec(agent);
      if (typeof spec === "string") throw invalid(spec);
      return subprocessWorker(spec, env.publicUrl, env.childReaper);
    }
    default:
      return undefined;
  }
}

/** The agent names the flow's steps refer to, in document order. */
function stepRefs(flow: FlowNodeNorm): string[] {
  const refs: string[] = [];
  for (const { node } of flowNodes(flow)) if (node.kind === "step") refs.push(node.ref);
  return refs;
}

/**
 * The agents whose worker can use a capability token (an `operator` agent, or a
 * `rust_fn` served by a webhook): only their steps get one minted. An
 * in-process function never calls back over HTTP.
 */
export function tokenAgents(
  bp: BlueprintNorm,
  env: Pick<CompileEnv, "functions" | "webhooks">,
): ReadonlySet<string> {
  const names = new Set<string>();
  for (const agent of bp.agents) {
    // an operator's seat or a child process may call back over HTTP
    if (agent.kind === "operator" || agent.kind === "subprocess") names.add(agent.name);
    if (agent.kind !== "rust_fn") continue;
    const fnId = specString(agent, "fn_id");
    if (fnId !== undefined && !env.functions.has(fnId) && env.webhooks.has(fnId)) {
      names.add(agent.name);
    }
  }
  return names;
}

/** Compiles a Blueprint into its linked spawner stack. Throws {@link CompileError}. */
export function compileBlueprint(bp: BlueprintNorm, env: CompileEnv): Spawner {
  const names = bp.operators.map((o) => o.name);
  for (const agent of bp.agents) {
    const ref = agent.kind === "operator" ? specString(agent, "operator_ref") : undefined;
    if (ref !== undefined && !names.includes(ref)) {
      throw new CompileError(
        `agent '${agent.name}' operator_ref '${ref}' does not match any OperatorDef.name in ` +
          `Blueprint.operators (defined: [${names.join(", ")}])`,
      );
    }
  }
  const table = new Map<string, Spawner>();
  for (const agent of bp.agents) {
    if (table.has(agent.name)) throw new CompileError(`duplicate AgentDef name: ${agent.name}`);
    const spawner = buildAgent(agent, env);
    if (!spawner) {
      if (bp.strategy.strict_kind) {
        const off = agent.kind === "subprocess"
          ? " (subprocess agents are off: SWITCHBOARD_ALLOW_SUBPROCESS=1 turns them on)"
          : "";
        throw new CompileError(
          `unknown agent kind in SpawnerRegistry: ${KIND_DEBUG[agent.kind]}${off}`,
        );
      }
      continue;
    }
    table.set(agent.name, spawner);
  }
  if (bp.strategy.strict_refs) {
    for (const ref of stepRefs(bp.flow)) {
      if (!table.has(ref)) {
        throw new CompileError(`flow references agent '${ref}' but no AgentDef matches`);
      }
    }
  }
  let stack: Spawner = function route(a) {
    const spawner = table.get(a.ctx.agent);
    if (!spawner) return Promise.reject(new SpawnError(`worker not registered: ${a.ctx.agent}`));
    return spawner(a);
  };
  for (const key of bp.spawner_hints.layers) {
    // own keys only: `toString` is an unknown key, skipped like any other (§1.7)
    const layer = Object.hasOwn(HINT_LAYERS, key) ? HINT_LAYERS[key] : undefined;
    if (layer) stack = layer(stack);
  }
  return stack;
}
