/**
 * The restricted template language of `profile.system_prompt`
 * (reference/blueprint.md §3.4–§3.5): text, `{# comments #}`, `{{ expr | filter }}`
 * outputs, `if`/`elif`/`else`, `for … in`, `raw`, and `-` whitespace control.
 * Expressions are the flow's compact text syntax plus `and`/`or`/`not` and
 * variables (loop variables, innermost first, then slots; `$` is the slot map).
 * An undefined variable or member is an error except as the subject of
 * `default(x)`. There is no auto-escaping, and nothing can call code.
 *
 * `renderTemplate` throws {@link TemplateError} with a message starting
 * `template render failed: `; `checkTemplate` throws it for syntax errors.
 *
 * @example Rendering a system prompt
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderTemplate } from "./mod.ts";
 * const prompt = renderTemplate(
 *   "You review {{ lang | upper }}.{% for f in files %} {{ loop.index }}:{{ f }}{% endfor %}",
 *   { lang: "ts", files: ["a.ts", "b.ts"] },
 * );
 * assert.equal(prompt, "You review TS. 1:a.ts 2:b.ts");
 * ```
 *
 * @module
 */
export { checkTemplate, MAX_BLOCK_DEPTH, MAX_TEMPLATE_BYTES } from "./parse_template.ts";
export { MAX_ITERATIONS, MAX_OUTPUT_BYTES, renderTemplate } from "./render_template.ts";
export { TemplateError, type TemplateErrorKind } from "./template_error.ts";
