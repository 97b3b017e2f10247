/**
 * The worker of engine/answer_check.ts. Posts `ready` first, then answers each
 * message: `{schema, value, max}` with the answer's issues (the first `max`),
 * `invalid` for a schema Ajv cannot compile or `failed` (a stack overflow, say);
 * `{schemas, limit}` with `compiled`, the schemas Ajv cannot compile and why (it
 * stops at the one that ends past `limit` ms).
 *
 * @module
 */
import { answerIssues, AnswerSchemaError, checkAnswerSchema } from "./answer_schema.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

scope.onmessage = (e) => {
  const { schema, schemas, value, max, limit } = e.data;
  if (Array.isArray(schemas)) {
    const started = performance.now();
    const compiled = [];
    for (let index = 0; index < schemas.length; index++) {
      try {
        checkAnswerSchema(schemas[index]);
      } catch (err) {
        compiled.push({ index, message: messageOf(err) });
      }
      if (performance.now() - started > limit) {
        compiled.push({ index, message: `compiling took longer than ${limit} ms` });
        break;
      }
    }
    return scope.postMessage({ compiled });
  }
  try {
    scope.postMessage({ issues: answerIssues(schema, value, max) });
  } catch (err) {
    const message = messageOf(err);
    scope.postMessage(
      err instanceof AnswerSchemaError ? { invalid: message } : { failed: message },
    );
  }
};
scope.postMessage({ ready: true });
