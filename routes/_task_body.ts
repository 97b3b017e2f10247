/**
 * The hand check of `POST /v1/tasks` and `POST /v1/runs` bodies (the hot path):
 * a body the schema would accept unchanged, with its Blueprint reference checked
 * by the schema once per distinct text and then reused, so a client that sends
 * the same inline Blueprint again skips the walk of its flow. Anything unusual is
 * left to the schema (which words the errors).
 *
 * @module
 */
import { type Blueprint, BlueprintRef } from "../protocol/blueprint.ts";
import type { TaskBody } from "../protocol/tasks.ts";
import { isPlainJson } from "../protocol/json.ts";
import type { Issue } from "../protocol/issues.ts";
import { blueprintIssues } from "../engine/blueprint/mod.ts";

/** Distinct Blueprint reference texts remembered (all forgotten when full). */
const MAX_REFS = 256;
const refs = new Map<string, BlueprintRef>();

function checkedRef(value: unknown): BlueprintRef | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const text = JSON.stringify(value);
  const known = refs.get(text);
  if (known) return known;
  const parsed = BlueprintRef.safeParse(value);
  if (!parsed.success) return undefined;
  if (refs.size >= MAX_REFS) refs.clear();
  // frozen: one checked reference is shared by every run that sent the same text
  const ref = Object.freeze(withSentValue(parsed.data, value));
  refs.set(text, ref);
  return ref;
}

/**
 * The reference with an inline Blueprint as sent rather than as zod's output:
 * zod drops own `__proto__` keys from records (an `object` expression's `fields`),
 * which are data here (reference/blueprint.md §3.5). The normalizer validates the
 * document again and reads it as sent, as registration does.
 */
function withSentValue(ref: BlueprintRef, sent: unknown): BlueprintRef {
  if (ref.kind !== "inline") return ref;
  // `as`: the schema has just accepted this reference, so `value` is a Blueprint.
  return { ...ref, value: (sent as { value: Blueprint }).value };
}

/**
 * A validated task body whose inline Blueprint is the one sent (`raw`, the parsed
 * request body). The hand check's references already are; this covers the bodies
 * the schema checked.
 */
export function inlineAsSent(body: TaskBody, raw: unknown): TaskBody {
  if (Object.isFrozen(body.blueprint) || body.blueprint.kind !== "inline") return body;
  // `as`: the schema accepted `raw` as this very body.
  const sent = (raw as { blueprint: unknown }).blueprint;
  return { ...body, blueprint: withSentValue(body.blueprint, sent) };
}

/**
 * `TaskBody` checked by hand, or undefined when the schema must decide. `plain`:
 * the body is known to be plain JSON (routes/_http.ts `FastCheck`).
 */
export function checkTaskBody(body: unknown, plain = false): TaskBody | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  // `as`: a JSON object from JSON.parse, read field by field below.
  const { blueprint, init_ctx, ttl_secs, operator, operator_sid, seats } = body as Record<
    string,
    unknown
  >;
  if (operator !== undefined || seats !== undefined) return undefined;
  if (!Object.hasOwn(body, "init_ctx") || !(plain || isPlainJson(init_ctx))) return undefined;
  if (operator_sid !== undefined && typeof operator_sid !== "string") return undefined;
  if (
    ttl_secs !== undefined &&
    (typeof ttl_secs !== "number" || !Number.isSafeInteger(ttl_secs) || ttl_secs < 0)
  ) return undefined;
  const ref = checkedRef(blueprint);
  if (!ref) return undefined;
  // `as TaskBody["init_ctx"]`: isPlainJson accepted it.
  const out: TaskBody = { blueprint: ref, init_ctx: init_ctx as TaskBody["init_ctx"] };
  if (ttl_secs !== undefined) out.ttl_secs = ttl_secs;
  if (operator_sid !== undefined) out.operator_sid = operator_sid;
  return out;
}

/**
 * A refused task body's `issues`, its inline Blueprint's worded as registration
 * words them (`unknown op "le2" (expected one of: …)`, located at the key): the
 * body schema's union over Blueprint references only says `Invalid input` at
 * the flow. The issues of the other fields are kept as the schema gave them.
 */
export function explainTaskBody(body: unknown, issues: Issue[]): Issue[] {
  if (typeof body !== "object" || body === null) return issues;
  const ref = (body as { blueprint?: unknown }).blueprint;
  if (typeof ref !== "object" || ref === null) return issues;
  const { kind, value } = ref as { kind?: unknown; value?: unknown };
  if (kind !== "inline") return issues;
  const worded = blueprintIssues(value, ["blueprint", "value"]);
  if (!worded) return issues;
  return [...worded, ...issues.filter((i) => i.path[0] !== "blueprint")];
}
