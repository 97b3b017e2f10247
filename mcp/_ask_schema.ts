/**
 * Ask schemas on the MCP side: checking a reply against the ask's JSON Schema
 * (Ajv) before it is sent, and deciding whether a schema fits MCP elicitation's
 * form subset (an object of primitive properties).
 *
 * @module
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import type { Json } from "../protocol/json.ts";

const ajv = new Ajv2020({ strict: false, allErrors: true });
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

/** Why `value` does not validate against `schema` (one line per issue), or [] when it does. */
export function schemaIssues(schema: unknown, value: Json): string[] {
  if (!schema || typeof schema !== "object") return [];
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema as Record<string, unknown>);
    } catch (err) {
      return [`the ask's schema cannot be compiled: ${(err as Error).message}`];
    }
    if (compiled.size > 200) compiled.clear();
    compiled.set(key, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) =>
    `${e.instancePath || "(root)"} ${e.message ?? "is invalid"}`
  );
}

const PRIMITIVES = new Set(["string", "number", "integer", "boolean"]);

/**
 * True when `schema` is in MCP elicitation's form subset: `type: "object"` whose
 * properties are each a string, number, integer or boolean (string enums allowed),
 * with no nesting.
 */
export function isElicitable(schema: unknown): schema is {
  type: "object";
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
} {
  if (!schema || typeof schema !== "object") return false;
  const s = schema as Record<string, unknown>;
  if (s.type !== "object" || !s.properties || typeof s.properties !== "object") return false;
  const props = Object.values(s.properties as Record<string, unknown>);
  if (props.length === 0) return false;
  return props.every((p) => {
    if (!p || typeof p !== "object") return false;
    const type = (p as { type?: unknown }).type;
    return typeof type === "string" && PRIMITIVES.has(type);
  });
}
