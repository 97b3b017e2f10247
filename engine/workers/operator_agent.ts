/**
 * `operator`-kind agents (reference/engine.md §5.4): render the persona, then
 * hand the spawn to the operator named by `spec.operator_ref`.
 *
 * @module
 */
import type { AgentDefNorm } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import type { Operator } from "../faces.ts";
import { renderTemplate } from "../template/mod.ts";
import {
  grantOf,
  inlineFinal,
  messageOf,
  spawned,
  type Spawner,
  SpawnError,
  WorkerError,
} from "../spawner.ts";

/** The template slots of a prompt: its keys if it is a JSON object, else `directive`. */
export function promptSlots(prompt: string): Record<string, Json> {
  try {
    const parsed = JSON.parse(prompt);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed;
  } catch {
    // not JSON: the whole text is the directive
  }
  return { directive: prompt };
}

/** The agent's `spec.timeout_secs` (a positive number), if it sets one. */
export function spawnTimeoutSecs(agent: AgentDefNorm): number | undefined {
  const spec = agent.spec;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return undefined;
  const secs = spec.timeout_secs;
  return typeof secs === "number" && secs > 0 && Number.isFinite(secs) ? secs : undefined;
}

/**
 * A spawner that delegates to the operator `resolve` finds (at each attempt),
 * with the agent's rendered persona. `spec.timeout_secs` bounds the spawn: past
 * it the request is cancelled (`cancel{timeout}`) and the attempt fails with
 * `spawn timed out after N s`.
 */
export function operatorAgentWorker(
  agent: AgentDefNorm,
  resolve: () => Operator | undefined,
): Spawner {
  const timeoutSecs = spawnTimeoutSecs(agent);
  return function delegateToOperator(a) {
    const operator = resolve();
    if (!operator) {
      return Promise.reject(new SpawnError(`no operator seat holds '${agent.name}'s operator_ref`));
    }
    let system: string | null = null;
    if (agent.profile) {
      try {
        system = renderTemplate(agent.profile.system_prompt, promptSlots(a.attempt.prompt));
      } catch (err) {
        return Promise.reject(new SpawnError(`render system_prompt: ${messageOf(err)}`));
      }
    }
    a.setSystem(system);
    let grant;
    try {
      grant = grantOf(a);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeout = timeoutSecs === undefined
      ? undefined
      : AbortSignal.timeout(Math.min(timeoutSecs * 1000, 2 ** 31 - 1));
    const signal = timeout ? AbortSignal.any([a.signal, timeout]) : a.signal;
    return Promise.resolve(spawned(
      operator.execute(a.ctx, system, a.attempt.prompt, grant, signal).then(
        (result) => {
          if (!a.lastFinal()) a.append(inlineFinal(result.value, result.ok));
        },
        (err) => {
          if (a.signal.aborted) throw a.signal.reason;
          if (timeout?.aborted) {
            throw new WorkerError(`spawn timed out after ${timeoutSecs} s`, { cause: err });
          }
          throw new WorkerError(`worker fn returned error: ${messageOf(err)}`, { cause: err });
        },
      ),
    ));
  };
}
