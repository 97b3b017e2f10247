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

/** A spawner that delegates to `operator`, with the agent's rendered persona. */
export function operatorAgentWorker(agent: AgentDefNorm, operator: Operator): Spawner {
  return function delegateToOperator(a) {
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
    return Promise.resolve(spawned(
      operator.execute(a.ctx, system, a.attempt.prompt, grant, a.signal).then(
        (result) => {
          if (!a.lastFinal()) a.append(inlineFinal(result.value, result.ok));
        },
        (err) => {
          if (a.signal.aborted) throw a.signal.reason;
          throw new WorkerError(`worker fn returned error: ${messageOf(err)}`, { cause: err });
        },
      ),
    ));
  };
}
