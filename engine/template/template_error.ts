/**
 * The error of the template subset.
 *
 * @module
 */

/** `syntax`: the template does not parse; `render`: rendering it failed. */
export type TemplateErrorKind = "syntax" | "render";

/**
 * A template error. Render errors read `template render failed: <detail>`; syntax
 * errors read `template syntax error at line <l>, column <c>: <detail>` (and start
 * with `template render failed: ` too when they come from `renderTemplate`).
 */
export class TemplateError extends Error {
  readonly kind: TemplateErrorKind;
  constructor(kind: TemplateErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TemplateError";
    this.kind = kind;
  }
}
