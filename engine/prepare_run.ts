/**
 * Turns a `POST /v1/tasks` (or `/v1/runs`) body into a run request, in the 0.1.2
 * order: `operator_sid`, operator kinds, Blueprint resolution (once), the TTL
 * cascade. Compilation happens when the engine starts the run.
 *
 * @module
 */
import { type AgentKind, type BlueprintNorm, OperatorKind } from "../protocol/blueprint.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { TaskBody } from "../protocol/tasks.ts";
import type { RunOperator, TtlSource } from "../store/run_store.ts";
import { type BlueprintStore, isBlueprintId } from "../store/blueprint_store.ts";
import { checkAskSchemas, normalizeBlueprint, resolveBlueprint } from "./blueprint/mod.ts";
import type { StartRunRequest } from "./engine.ts";
import { type FaceRegistries, type Operator, resolveFace } from "./faces.ts";

/** Normalized inline Blueprints by their (frozen, shared) checked reference. */
const normalizedInline = new WeakMap<object, BlueprintNorm>();

/** Stored Blueprints by version, one object each (most recent {@link VERSIONS_MAX}). */
const byVersion = new Map<string, BlueprintNorm>();
const VERSIONS_MAX = 256;

/**
 * One object per stored version: a version is the hash of the normalized
 * document, so its runs share the object (and with it a compiled stack and,
 * on KV, one stored copy) instead of a fresh copy from the store each.
 */
function sharedVersion(version: string, read: () => BlueprintNorm): BlueprintNorm {
  const known = byVersion.get(version);
  if (known) return known;
  const blueprint = read();
  if (byVersion.size >= VERSIONS_MAX) byVersion.delete(byVersion.keys().next().value!);
  byVersion.set(version, blueprint);
  return blueprint;
}

/**
 * The cause of the 400 for a `spawn_hook_id` or `senior_bridge_id` that no seat
 * holds here (in a cluster, a seat minted a moment ago elsewhere may not have
 * reached this instance yet).
 */
export class UnheldSeatError extends Error {
  constructor(readonly seat: string) {
    super(`no operator seat holds '${seat}'`);
    this.name = "UnheldSeatError";
  }
}

/** The TTL when neither the request nor the Blueprint names one. */
export const DEFAULT_TTL_SECS = 1800;

/** What preparing a run looks things up in. */
export interface PrepareEnv {
  operators: ReadonlyMap<string, Operator>;
  /** Every face registry, to check `spawn_hook_id` and `senior_bridge_id` (absent: unchecked). */
  registries?: FaceRegistries;
  blueprints: BlueprintStore;
  warn(message: string): void;
  /** The kind of an inline agent that names none, before `operator` (SWITCHBOARD_DEFAULT_AGENT_KIND). */
  defaultAgentKind?: AgentKind;
}

function parseKind(value: string): OperatorKind {
  const kind = OperatorKind.safeParse(value);
  if (!kind.success) {
    throw new SwitchboardError(
      "bad_request",
      `operator kind: unknown value '${value}' (expected main_ai|automate|composite)`,
    );
  }
  return kind.data;
}

/**
 * No silent gates: `spawn_hook_id` and `senior_bridge_id` name a sid or a role,
 * and one that no seat holds (for this run: unscoped, scoped to its Blueprint,
 * or among the run's own `seats`) is a 400 that names it.
 */
function checkGates(
  env: PrepareEnv,
  operator: RunOperator,
  blueprintId: string,
  runRoles: readonly string[],
): void {
  const registries = env.registries;
  if (!registries) return;
  const gates = [
    ["spawn_hook_id", operator.spawn_hook_id, "spawnHooks"],
    ["senior_bridge_id", operator.senior_bridge_id, "seniorBridges"],
  ] as const;
  for (const [field, name, kind] of gates) {
    if (name === undefined || runRoles.includes(name)) continue;
    if (resolveFace(registries, kind, name, { blueprintId })) continue;
    throw new SwitchboardError(
      "bad_request",
      `${field}: no operator seat holds '${name}' (give a seat's sid or one of its roles)`,
      { cause: new UnheldSeatError(name) },
    );
  }
}

/** Validates and resolves a task body. Throws `SwitchboardError` (400 or 422). */
export async function prepareRun(env: PrepareEnv, body: TaskBody): Promise<StartRunRequest> {
  const op = body.operator ?? {};
  let backend = op.operator_backend_id;
  if (body.operator_sid !== undefined) {
    if (!env.operators.has(body.operator_sid)) {
      throw new SwitchboardError(
        "bad_request",
        `operator_sid: no such registered operator session '${body.operator_sid}'`,
      );
    }
    backend = body.operator_sid;
  }
  const kinds = Object.entries(op.per_agent_kinds ?? {});
  const operator: RunOperator = {
    id: op.id ?? "http-run",
    // fromEntries defines own keys: an agent named `__proto__` is data (§3.5)
    per_agent_kinds: Object.fromEntries(kinds.map(([agent, kind]) => [agent, parseKind(kind)])),
  };
  if (op.kind !== undefined) operator.kind = parseKind(op.kind);
  if (op.spawn_hook_id !== undefined) operator.spawn_hook_id = op.spawn_hook_id;
  if (op.senior_bridge_id !== undefined) operator.senior_bridge_id = op.senior_bridge_id;
  if (backend !== undefined) operator.operator_backend_id = backend;

  let blueprint: BlueprintNorm;
  let boundVersion: string | null = null;
  const ref = body.blueprint;
  if (ref.kind === "inline") {
    // A checked reference reused across requests (a frozen object) is normalized once.
    const known = Object.isFrozen(ref) ? normalizedInline.get(ref) : undefined;
    if (known) blueprint = known;
    else {
      const at = ["blueprint", "value"];
      blueprint = normalizeBlueprint(ref.value, {
        staticChecks: false,
        at,
        defaultAgentKind: env.defaultAgentKind,
      });
      await checkAskSchemas(blueprint, at);
      if (Object.isFrozen(ref)) normalizedInline.set(ref, blueprint);
    }
  } else {
    const prefix = body.ttl_secs === undefined ? "bp resolve" : "run";
    // reference/blueprint.md §4.1: task resolution with an invalid id answers 404
    if (!isBlueprintId(ref.id)) {
      throw new SwitchboardError("not_found", `${prefix}: invalid blueprint id`);
    }
    try {
      const resolved = await resolveBlueprint(env.blueprints, ref, { warn: env.warn });
      boundVersion = resolved.version;
      blueprint = sharedVersion(resolved.version, () => resolved.blueprint);
    } catch (err) {
      if (!(err instanceof SwitchboardError) || err.status >= 500) throw err;
      throw new SwitchboardError("bad_request", `${prefix}: ${err.message}`, { cause: err });
    }
  }

  checkGates(env, operator, blueprint.id, (body.seats ?? []).map((s) => s.role));

  let ttlSecs: number;
  let ttlSource: TtlSource;
  if (body.ttl_secs !== undefined) {
    ttlSecs = body.ttl_secs;
    ttlSource = "request_body";
  } else if (blueprint.metadata.default_run_ttl_secs !== undefined) {
    ttlSecs = blueprint.metadata.default_run_ttl_secs;
    ttlSource = "bp_metadata";
  } else {
    ttlSecs = DEFAULT_TTL_SECS;
    ttlSource = "server_default";
  }
  return {
    blueprint,
    boundVersion,
    initCtx: body.init_ctx,
    ttlSecs,
    ttlSource,
    operator,
  };
}
