/**
 * The worker of engine/answer_check.ts: checks one answer against its schema per
 * message and posts the issues (the first `max`), `broken` for a schema Ajv
 * cannot compile, or `failed` (a stack overflow, say). Posts `ready` first.
 *
 * @module
 */
import { answerIssues, AnswerSchemaError } from "./answer_schema.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (e) => {
  const { schema, value, max } = e.data;
  try {
    scope.postMessage({ issues: answerIssues(schema, value, max) });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    scope.postMessage(err instanceof AnswerSchemaError ? { broken: message } : { failed: message });
  }
};
scope.postMessage({ ready: true });
