/**
 * Tool failures as the agent reads them: a server that cannot be reached says so
 * with its URL, and no text ever carries the seat token.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { SwitchboardError } from "../protocol/errors.ts";

/** True when `err` is a network failure of `fetch` or a socket (no HTTP answer at all). */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof SwitchboardError) return false;
  if (err instanceof TypeError) return true; // fetch: "error sending request …", "fetch failed"
  const text = err instanceof Error ? err.message : String(err);
  return /ECONNREFUSED|connection refused|error sending request|fetch failed|os error 111/i
    .test(text);
}

/** The error text of a failed tool call, with `secrets` blanked out. */
export function failureText(err: unknown, url: string, secrets: readonly string[] = []): string {
  let text = isUnreachable(err)
    ? `cannot reach Switchboard at ${url} (is the server running? set SWITCHBOARD_URL)`
    : err instanceof Error
    ? err.message
    : String(err);
  for (const secret of secrets) if (secret) text = text.replaceAll(secret, "[token]");
  return text;
}

/** A tool error result. */
export function failure(text: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text }] };
}

/** A tool result: the JSON as text and as structured content. */
export function success(value: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
    structuredContent: value,
  };
}
