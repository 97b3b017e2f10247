/**
 * The load-time error of the expression language: bad text syntax, a bad path,
 * an exceeded limit or a tree of the wrong shape.
 *
 * @module
 */

/** What kind of load-time problem an {@link ExprError} reports. */
export type ExprErrorKind = "syntax" | "path" | "limit" | "shape";

/** Options of {@link ExprError}. */
export interface ExprErrorOptions extends ErrorOptions {
  /** For text errors: the 0-based UTF-16 offset of the offending token in the parsed source. */
  offset?: number;
  /** For text errors: the message without its location prefix. */
  detail?: string;
}

/** A compile (load-time) error. Its message is the user-visible text. */
export class ExprError extends Error {
  readonly kind: ExprErrorKind;
  readonly offset?: number;
  readonly detail?: string;
  constructor(kind: ExprErrorKind, message: string, options: ExprErrorOptions = {}) {
    super(message, options);
    this.name = "ExprError";
    this.kind = kind;
    this.offset = options.offset;
    this.detail = options.detail;
  }
}
