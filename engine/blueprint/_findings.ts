/**
 * The problems found in one document, and the one 422 error normalization throws
 * for them.
 *
 * @module
 */
import { SwitchboardError } from "../../protocol/errors.ts";
import type { Issue } from "./_issues.ts";

/** A problem: its issue (pointer and message) and the text for the error message. */
export interface Finding extends Issue {
  /** What `blueprint invalid: <detail>` says when this is the first finding. */
  detail: string;
}

/** A finding whose error text is its message. */
export function finding(path: string, message: string, detail = message): Finding {
  return { path, message, detail };
}

/** The 422 error for a document: `<prefix>: <detail>` with `issues` beside it. */
export function invalidDocument(prefix: string, detail: string, issues: Issue[]): SwitchboardError {
  return new SwitchboardError("invalid", `${prefix}: ${detail}`, {
    extra: { issues: issues.map(({ path, message }) => ({ path, message })) },
  });
}

/** Throws {@link invalidDocument} for the first of `findings`, listing all; no-op when empty. */
export function throwFindings(prefix: string, findings: readonly Finding[]): void {
  if (findings.length === 0) return;
  throw invalidDocument(prefix, findings[0].detail, [...findings]);
}
