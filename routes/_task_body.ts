/**
 * The hand check of `POST /v1/tasks` and `POST /v1/runs` bodies (the hot path):
 * a body the schema would accept unchanged, with its Blueprint reference checked
 * by the schema once per distinct text and then reused, so a client that sends
 * the same inline Blueprint again skips the walk of its flow. Anything unusual is
 * left to the schema (which words the errors).
 *
 * @module
 */
import { BlueprintRef } from "../protocol/blueprint.ts";
import type { TaskBody } from "../protocol/tasks.ts";
import { isPlainJson } from "../protocol/json.ts";

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
  refs.set(text, Object.freeze(parsed.data));
  return parsed.data;
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
