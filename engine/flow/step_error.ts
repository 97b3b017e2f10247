/**
 * The error a dispatcher throws to fail a step.
 *
 * @module
 */

/**
 * Thrown by a {@link Dispatch} callback to fail a step. Its message is the detail
 * (`blocked: "NO"`, `dispatch failed: …`, `start failed: …`); the evaluator turns
 * it into a `FlowError` `dispatcher error for ref '<ref>': <detail>`.
 */
export class StepError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StepError";
  }
}
