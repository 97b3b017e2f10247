/**
 * Checks values against the schemas of an OpenAPI document with Ajv (JSON
 * Schema 2020-12, the dialect of OpenAPI 3.1).
 *
 * @module
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import type { OpenApiDocument } from "../../routes/_openapi.ts";

/** The schema documented for one operation. */
export interface OperationSchemas {
  request?: Record<string, unknown>;
  response(status: number): Record<string, unknown> | undefined;
}

/** A checker bound to one document. */
export interface OpenApiChecker {
  /** The request and response schemas of `METHOD /openapi/{path}`. Throws when undocumented. */
  operation(method: string, path: string): OperationSchemas;
  /** Throws with Ajv's errors when `value` does not conform to `schema`. */
  assertConforms(schema: Record<string, unknown>, value: unknown, what: string): void;
}

type JsonObject = Record<string, unknown>;

/** Builds a checker; component `$ref`s resolve against the document. */
export function openApiChecker(doc: OpenApiDocument): OpenApiChecker {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const DOC_ID = "https://switchboard.invalid/openapi.json";
  ajv.addSchema({ $id: DOC_ID, components: doc.components });
  let n = 0;
  const paths = doc.paths as Record<string, Record<string, JsonObject>>;
  const jsonSchema = (content: unknown) =>
    ((content as Record<string, { schema?: JsonObject }> | undefined)?.["application/json"])
      ?.schema;
  return {
    operation(method, path) {
      const op = paths[path]?.[method.toLowerCase()];
      if (!op) throw new Error(`${method} ${path} is not in the document`);
      const body = op.requestBody as { content?: unknown } | undefined;
      const responses = op.responses as Record<string, { content?: unknown }>;
      return {
        request: jsonSchema(body?.content),
        response: (status) => jsonSchema(responses[String(status)]?.content),
      };
    },
    assertConforms(schema, value, what) {
      // Inline operation schemas point at `#/components/...`: root them in the document.
      const rooted = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`),
      );
      const validate = ajv.compile({ $id: `https://switchboard.invalid/check-${++n}`, ...rooted });
      if (!validate(value)) {
        throw new Error(
          `${what} does not conform: ${JSON.stringify(validate.errors, null, 1)}\n` +
            `value: ${JSON.stringify(value).slice(0, 2000)}`,
        );
      }
    },
  };
}
