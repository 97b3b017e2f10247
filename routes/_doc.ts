/**
 * Small builders for route documentation (hono-openapi `describeRoute`).
 *
 * @module
 */
import { describeRoute, resolver } from "hono-openapi";
import type { MiddlewareHandler } from "hono";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ErrorBody } from "../protocol/operators.ts";

const ERROR_TEXT: Record<number, string> = {
  400: "Bad request",
  401: "Missing or bad credentials",
  403: "Valid credentials, wrong role or verb",
  404: "Not found",
  409: "Conflict",
  410: "The task or run has ended",
  413: "Body over 2 MiB",
  415: "Not JSON where JSON is required",
  422: "JSON of the wrong shape",
  429: "Too many: failed credentials from this address, or a cap reached (see Retry-After)",
  503:
    "Too many runs in progress (SWITCHBOARD_MAX_LIVE_RUNS, SWITCHBOARD_MAX_LIVE_CTX_MB): retry later",
  507: "The KV file is over its bound (SWITCHBOARD_KV_MAX_MB): new work is refused",
};

/** A JSON response object for a schema. */
export function json(schema: StandardSchemaV1, description: string) {
  return { description, content: { "application/json": { schema: resolver(schema) } } };
}

/** A plain-text response object. */
export function text(description: string) {
  return { description, content: { "text/plain": { schema: { type: "string" as const } } } };
}

/** An empty response object. */
export function empty(description: string) {
  return { description };
}

type ResponseSpec =
  | ReturnType<typeof json>
  | ReturnType<typeof empty>
  | { description: string; content: Record<string, { schema: { type: "string" } }> };

/** Options of {@link doc}. */
export interface DocOptions {
  tags: string[];
  summary: string;
  description?: string;
  responses: Record<number, ResponseSpec>;
  /** Error statuses this route can answer. */
  errors?: number[];
  /** True when the route needs the API token (when one is configured). */
  admin?: boolean;
  /** Security scheme names other than the API token. */
  security?: string[];
}

/** Describes a route for the OpenAPI document. */
export function doc(options: DocOptions): MiddlewareHandler {
  const responses: Record<string, ResponseSpec> = {};
  for (const [status, spec] of Object.entries(options.responses)) responses[status] = spec;
  for (const status of options.errors ?? []) {
    responses[String(status)] = json(ErrorBody, ERROR_TEXT[status] ?? "Error");
  }
  const schemes = [...(options.admin ? ["apiToken"] : []), ...(options.security ?? [])];
  return describeRoute({
    tags: options.tags,
    summary: options.summary,
    description: options.description,
    responses,
    ...(schemes.length ? { security: schemes.map((s) => ({ [s]: [] })) } : {}),
  });
}
