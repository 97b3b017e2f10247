/**
 * The `context` every operator request carries (SPEC §10): the run, its
 * Blueprint and version, the agent and attempt, and the step's rendered input
 * (the prompt), cut at 64 KiB.
 *
 * @module
 */
import { CONTEXT_INPUT_MAX, type RequestContext } from "../protocol/frames.ts";

/** What a context is made from. */
export interface ContextSource {
  runId: string;
  blueprintId: string;
  blueprintVersion: string | null;
  agent?: string;
  attempt?: number;
  step?: string;
  /** The step's input as text (its prompt). */
  input?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `text` cut to at most `max` UTF-8 bytes (never inside a character), and whether it was cut. */
export function cutText(text: string, max = CONTEXT_INPUT_MAX): { text: string; cut: boolean } {
  if (text.length * 3 <= max) return { text, cut: false };
  const bytes = encoder.encode(text);
  if (bytes.length <= max) return { text, cut: false };
  let end = max;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // back to a character start
  return { text: decoder.decode(bytes.subarray(0, end)), cut: true };
}

/**
 * Builds a request's `context`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestContext } from "./request_context.ts";
 * const context = requestContext({
 *   runId: "run-1",
 *   blueprintId: "review",
 *   blueprintVersion: null,
 *   agent: "impl",
 *   attempt: 1,
 *   input: "x".repeat(70_000),
 * });
 * assert.equal((context.input as string).length, 65_536);
 * assert.equal(context.input_truncated, true);
 * ```
 */
export function requestContext(source: ContextSource): RequestContext {
  const context: RequestContext = {
    run_id: source.runId,
    blueprint_id: source.blueprintId,
    blueprint_version: source.blueprintVersion,
  };
  if (source.agent !== undefined) context.agent = source.agent;
  if (source.attempt !== undefined) context.attempt = source.attempt;
  if (source.step !== undefined) context.step = source.step;
  if (source.input !== undefined) {
    const { text, cut } = cutText(source.input);
    context.input = text;
    if (cut) context.input_truncated = true;
  }
  return context;
}
