/**
 * Zod → OpenAPI 3.1 schema conversion with stable component names.
 *
 * Every exported schema of protocol/ is registered under its export name, so a
 * body or an answer becomes `$ref: #/components/schemas/<Name>` and the
 * recursive ones (Json, Expr, FlowNode) are named once instead of as the
 * `__schemaN` placeholders that collide when hono-openapi merges separately
 * converted schemas. `useNamedSchemas()` installs the converter for zod.
 *
 * @module
 */
import { z } from "zod";
import { loadVendor } from "hono-openapi";
import * as blueprint from "../protocol/blueprint.ts";
import * as blueprintStore from "../protocol/blueprint_store.ts";
import * as frames from "../protocol/frames.ts";
import * as issues from "../protocol/issues.ts";
import * as json from "../protocol/json.ts";
import * as operability from "../protocol/operability.ts";
import * as operators from "../protocol/operators.ts";
import * as sse from "../protocol/sse.ts";
import * as tasks from "../protocol/tasks.ts";
import * as worker from "../protocol/worker.ts";

/** A JSON Schema / OpenAPI schema object as plain JSON. */
export type SchemaObject = Record<string, unknown>;

const MODULES = [
  json,
  issues,
  frames,
  operators,
  tasks,
  worker,
  blueprint,
  blueprintStore,
  operability,
  sse,
];

function buildRegistry() {
  const registry = z.registry<{ id: string }>();
  for (const mod of MODULES) {
    for (const [name, value] of Object.entries(mod)) {
      // Query schemas become parameters, which hono-openapi reads from an inline object.
      if (!(value instanceof z.ZodType) || name.endsWith("Query")) continue;
      if (!registry.has(value)) registry.add(value, { id: name });
    }
  }
  return registry;
}

/** protocol/ schemas by component name. */
const REGISTRY = buildRegistry();
const DEFS = /^#\/(\$defs|definitions)\//;
const COMPONENTS = "#/components/schemas/";
let anonymous = 0;

function rewriteRefs(node: unknown, renames: Map<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, renames));
  if (node === null || typeof node !== "object") return node;
  const out: SchemaObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string" && DEFS.test(value)) {
      const name = value.replace(DEFS, "");
      out[key] = COMPONENTS + (renames.get(name) ?? name);
    } else {
      out[key] = rewriteRefs(value, renames);
    }
  }
  return out;
}

/**
 * Converts one zod schema. Named sub-schemas go into `components`; the result is
 * a `$ref` when the schema itself is named. Request-side (`input`) shapes are
 * used throughout, so one name means one shape.
 */
export function toOpenApiSchema(
  schema: z.ZodType,
  components: Record<string, unknown>,
  options: { target?: "draft-7" | "draft-2020-12" } = {},
): SchemaObject {
  const converted = z.toJSONSchema(schema, {
    target: options.target ?? "draft-2020-12",
    metadata: REGISTRY,
    io: "input",
    unrepresentable: "any",
    cycles: "ref",
    reused: "inline",
  }) as SchemaObject; // JSONSchema.BaseSchema is a JSON object; we only read and copy it
  const { $defs, definitions, $schema: _dialect, ...root } = converted;
  const defs = ($defs ?? definitions ?? {}) as Record<string, unknown>;
  const renames = new Map<string, string>();
  for (const name of Object.keys(defs)) {
    if (name.startsWith("__")) renames.set(name, `Anonymous${++anonymous}`);
  }
  for (const [name, def] of Object.entries(defs)) {
    components[renames.get(name) ?? name] = rewriteRefs(def, renames);
  }
  if (root.$ref === "#") throw new Error("an unnamed recursive schema cannot be documented");
  return rewriteRefs(root, renames) as SchemaObject;
}

let installed = false;

/** Makes hono-openapi convert zod schemas with {@link toOpenApiSchema}. Idempotent. */
export function useNamedSchemas(): void {
  if (installed) return;
  installed = true;
  loadVendor("zod", {
    toOpenAPISchema(schema, context) {
      const components = (context.components.schemas ??= {}) as Record<string, unknown>;
      // hono-openapi hands over the schema it was given: a zod schema here.
      return toOpenApiSchema(schema as unknown as z.ZodType, components);
    },
  });
}

/** The component name of a protocol/ schema, if it has one. */
export function schemaName(schema: z.ZodType): string | undefined {
  return REGISTRY.get(schema)?.id;
}
