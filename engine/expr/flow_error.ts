/**
 * The run-time error of expressions and flows. Every `FlowError` but a `budget` one is catchable by
 * a flow `try` node, and its message is exactly the user-visible text (it lands in
 * `err_at`, in `all_settled` reasons and in HTTP errors).
 *
 * @module
 */

/**
 * What kind of run-time problem a {@link FlowError} reports. `path` means a read
 * found nothing (`coalesce` skips exactly these); `step` is a dispatcher failure.
 */
export type FlowErrorKind =
  | "path"
  | "type"
  | "arithmetic"
  | "condition"
  | "limit"
  | "step"
  | "budget";

/** A run-time evaluation error. */
export class FlowError extends Error {
  readonly kind: FlowErrorKind;
  constructor(message: string, kind: FlowErrorKind = "type", options?: ErrorOptions) {
    super(message, options);
    this.name = "FlowError";
    this.kind = kind;
  }
}
