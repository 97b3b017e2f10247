/**
 * The answer schemas of a normalized Blueprint's `ask` nodes must compile. Ajv
 * compiles them in a worker (engine/answer_check.ts), all of one Blueprint
 * within 1 s: compiling has no time bound of its own (4,000
 * `patternProperties`, 55 KB, took 2.4 s), so it stays off the event loop.
 *
 * @module
 */
import type { FlowNodeNorm } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import type { IssueKey } from "../../protocol/issues.ts";
import { compileAnswerSchemas } from "../answer_check.ts";
import type { BlueprintNorm } from "../../protocol/blueprint.ts";
import { finding, issuesUnder, throwFindings } from "./_findings.ts";

/** The answer schemas under `node`, each with its position. */
function* askSchemas(
  node: FlowNodeNorm,
  at: readonly IssueKey[],
): Generator<{ at: readonly IssueKey[]; schema: Json }> {
  switch (node.kind) {
    case "ask":
      if (node.schema !== undefined) yield { at: [...at, "schema"], schema: node.schema };
      return;
    case "seq":
      for (let i = 0; i < node.children.length; i++) {
        yield* askSchemas(node.children[i], [...at, "children", i]);
      }
      return;
    case "branch":
      yield* askSchemas(node.then, [...at, "then"]);
      yield* askSchemas(node.else, [...at, "else"]);
      return;
    case "fanout":
    case "loop":
      yield* askSchemas(node.body, [...at, "body"]);
      return;
    case "try":
      yield* askSchemas(node.body, [...at, "body"]);
      yield* askSchemas(node.catch, [...at, "catch"]);
      return;
  }
}

/**
 * Throws `SwitchboardError` (`invalid`, 422) `blueprint invalid: ask schema: …`
 * when an answer schema of `bp` does not compile, with its issues placed under
 * `at` (where the Blueprint sits in the request); 503 when the worker is busy.
 */
export async function checkAskSchemas(
  bp: BlueprintNorm,
  at: readonly IssueKey[] = [],
): Promise<void> {
  const found = [...askSchemas(bp.flow, ["flow"])];
  if (found.length === 0) return;
  const broken = await compileAnswerSchemas(found.map((f) => f.schema));
  const findings = broken.map(({ index, message }) =>
    finding(found[index].at, `ask schema: ${message}`)
  );
  try {
    throwFindings("blueprint invalid", findings);
  } catch (err) {
    throw at.length === 0 ? err : issuesUnder(err, at);
  }
}
