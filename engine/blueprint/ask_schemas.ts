/**
 * The answer schemas of a normalized Blueprint's `ask` nodes must compile. Ajv
 * compiles them in a worker (engine/answer_check.ts), all of one Blueprint
 * within 1 s: compiling has no time bound of its own (4,000
 * `patternProperties`, 55 KB, took 2.4 s), so it stays off the event loop.
 *
 * @module
 */
import type { BlueprintNorm } from "../../protocol/blueprint.ts";
import { flowNodes } from "../../protocol/flow_nodes.ts";
import type { Json } from "../../protocol/json.ts";
import type { IssueKey } from "../../protocol/issues.ts";
import { compileAnswerSchemas } from "../answer_check.ts";
import { finding, issuesUnder, throwFindings } from "./_findings.ts";

/**
 * Throws `SwitchboardError` (`invalid`, 422) `blueprint invalid: ask schema: …`
 * when an answer schema of `bp` does not compile, with its issues placed under
 * `at` (where the Blueprint sits in the request); 503 when the worker is busy.
 */
export async function checkAskSchemas(
  bp: BlueprintNorm,
  at: readonly IssueKey[] = [],
): Promise<void> {
  const found: Array<{ at: readonly IssueKey[]; schema: Json }> = [];
  for (const { node, at: place } of flowNodes(bp.flow)) {
    if (node.kind === "ask" && node.schema !== undefined) {
      found.push({ at: [...place, "schema"], schema: node.schema });
    }
  }
  if (found.length === 0) return;
  const broken = await compileAnswerSchemas(found.map((f) => f.schema), "blueprints");
  const findings = broken.map(({ index, message }) =>
    finding(found[index].at, `ask schema: ${message}`)
  );
  try {
    throwFindings("blueprint invalid", findings);
  } catch (err) {
    throw at.length === 0 ? err : issuesUnder(err, at);
  }
}
