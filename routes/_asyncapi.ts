/**
 * The AsyncAPI 3.0 document of the operator WebSocket (`/v1/asyncapi.json`):
 * one channel, `/v1/operators/{sid}/ws`, whose messages are the frames of
 * protocol/frames.ts. The server sends every `ServerFrame` and receives every
 * `ClientFrame`; a frame type added to either union appears here by itself.
 * Payload schemas come from the same zod schemas as the OpenAPI document,
 * written as JSON Schema draft-07 (AsyncAPI's default schema format).
 *
 * @module
 */
import type { z } from "zod";
import { ClientFrame, CLOSE, ServerFrame } from "../protocol/frames.ts";
import { schemaName, toOpenApiSchema } from "./_openapi_schemas.ts";

/** An AsyncAPI document as plain JSON. */
export type AsyncApiDocument = Record<string, unknown>;

/** Options of {@link buildAsyncApiDocument}. */
export interface AsyncApiOptions {
  /** The server's public base URL (`SWITCHBOARD_PUBLIC_URL`). */
  publicUrl: string;
  /** The document's `info.version`. */
  version: string;
}

const CHANNEL = "operatorSocket";

/** The frame schemas of a discriminated union, with their `type` tags. */
function framesOf(union: z.ZodDiscriminatedUnion): Array<{ tag: string; schema: z.ZodType }> {
  return union.options.map((option) => {
    const schema = option as z.ZodObject; // every frame is an object tagged by a literal `type`
    const tag = (schema.shape.type as z.ZodLiteral<string>).value;
    return { tag, schema };
  });
}

/** What each frame is for (the JSDoc of protocol/frames.ts, for readers of this document). */
const SUMMARIES: Readonly<Record<string, string>> = {
  ask: "A question for the operator (senior bridge). Reply: `answer`.",
  hook_before: "A spawn about to start; the operator approves or vetoes it. Reply: `hook_ack`.",
  hook_after: "The result of a finished spawn. Fire and forget: no reply.",
  spawn: "Execution delegated to the operator. Reply: `spawn_ack`.",
  cancel: "The request no longer wants an answer (timeout, run_ended or session_deleted).",
  error: "The client's last frame was refused; the socket stays open.",
  pong: "The answer to `ping`; after a reply, it confirms the reply was applied.",
  answer: "The reply to `ask`: any JSON value.",
  hook_ack: "The reply to `hook_before`: `ok` approves, `ok: false` vetoes with a reason.",
  spawn_ack: "The reply to `spawn`: the result value, or an error.",
  ping: "Keep-alive; the server answers `pong`.",
};

/** Builds the document. */
export function buildAsyncApiDocument(options: AsyncApiOptions): AsyncApiDocument {
  const url = new URL(options.publicUrl);
  const schemas: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const channelMessages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const sides = [
    { union: ServerFrame, action: "send", verb: "Sends" },
    { union: ClientFrame, action: "receive", verb: "Receives" },
  ] as const;
  for (const { union, action, verb } of sides) {
    for (const { tag, schema } of framesOf(union)) {
      const name = schemaName(schema) ?? `${tag}Frame`;
      const root = toOpenApiSchema(schema, schemas, { target: "draft-7" });
      if (root.$ref === undefined) schemas[name] = root; // a named frame is already a component
      messages[tag] = {
        name: tag,
        title: name,
        summary: SUMMARIES[tag] ?? `The \`${tag}\` frame.`,
        contentType: "application/json",
        payload: { $ref: `#/components/schemas/${name}` },
      };
      channelMessages[tag] = { $ref: `#/components/messages/${tag}` };
      operations[`${action}_${tag}`] = {
        action,
        title: `${verb} \`${tag}\``,
        channel: { $ref: `#/channels/${CHANNEL}` },
        messages: [{ $ref: `#/channels/${CHANNEL}/messages/${tag}` }],
      };
    }
  }
  const closeCodes = Object.entries(CLOSE).map(([why, code]) => `${code} ${why}`).join(", ");
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Switchboard operator socket",
      version: options.version,
      description: "One WebSocket per operator seat. Every frame is one JSON text message " +
        "tagged by `type`. The server sends requests (`ask`, `hook_before`, `spawn`), " +
        "notices (`hook_after`, `cancel`, `error`) and `pong`; the operator replies with " +
        "`answer`, `hook_ack` or `spawn_ack` (the first valid reply settles a request) and " +
        `may send \`ping\`. Close codes: ${closeCodes}. The HTTP API is in /v1/openapi.json.`,
    },
    defaultContentType: "application/json",
    servers: {
      switchboard: {
        host: url.host,
        protocol: url.protocol === "https:" ? "wss" : "ws",
        ...(url.pathname !== "/" ? { pathname: url.pathname.replace(/\/$/, "") } : {}),
        description: "This server (`SWITCHBOARD_PUBLIC_URL`).",
        security: [{ $ref: "#/components/securitySchemes/operatorToken" }],
      },
    },
    channels: {
      [CHANNEL]: {
        address: "/v1/operators/{sid}/ws",
        title: "An operator seat's socket",
        description: "Open with `Authorization: Bearer <token>`, or (browsers) the " +
          "subprotocols `bearer` and `<token>`. On every (re)connect the server re-sends " +
          "each pending request unchanged.",
        parameters: { sid: { description: "The seat id from `POST /v1/operators`." } },
        messages: channelMessages,
      },
    },
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        operatorToken: {
          type: "http",
          scheme: "bearer",
          description: "The token minted with the seat by `POST /v1/operators`.",
        },
      },
    },
  };
}
