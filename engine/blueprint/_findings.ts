/**
 * The problems found in one document, and the one 422 error normalization throws
 * for them.
 *
 * @module
 */
import { isSwitchboardError, SwitchboardError } from "../../protocol/errors.ts";
import { type Issue, issueAt, type IssueKey } from "../../protocol/issues.ts";

/** A problem: its issue (path, pointer and message) and the text for the error message. */
export interface Finding extends Issue {
  /** What `blueprint invalid: <detail>` says when this is the first finding. */
  detail: string;
}

/** A finding at `path` (keys from the document's root) whose error text is its message. */
export function finding(path: readonly IssueKey[], message: string, detail = message): Finding {
  return { ...issueAt(path, message), detail };
}

/** The 422 error for a document: `<prefix>: <detail>` with `issues` beside it. */
export function invalidDocument(prefix: string, detail: string, issues: Issue[]): SwitchboardError {
  return new SwitchboardError("invalid", `${prefix}: ${detail}`, {
    extra: { issues: issues.map(({ path, pointer, message }) => ({ path, pointer, message })) },
  });
}

/**
 * `err` with the paths of its issues moved under `at` (where the document sits in
 * a request); any other error as it is.
 */
export function issuesUnder(err: unknown, at: readonly IssueKey[]): unknown {
  if (!isSwitchboardError(err, "invalid") || !Array.isArray(err.extra?.issues)) return err;
  // `as Issue[]`: the list invalidDocument wrote
  const moved = (err.extra.issues as Issue[]).map((i) => issueAt([...at, ...i.path], i.message));
  return new SwitchboardError("invalid", err.message, { extra: { ...err.extra, issues: moved } });
}

/** Throws {@link invalidDocument} for the first of `findings`, listing all; no-op when empty. */
export function throwFindings(prefix: string, findings: readonly Finding[]): void {
  if (findings.length === 0) return;
  throw invalidDocument(prefix, findings[0].detail, [...findings]);
}
