/**
 * Runs with large values for the size tests: an inline Blueprint posted to
 * `/v1/runs` or `/v1/tasks`, and the two Blueprints they use.
 *
 * @module
 */

/** One identity step copying `$.x` to `$.y`: a run whose ctx is twice its input. */
export const COPY_BLUEPRINT = {
  id: "big",
  agents: [{ name: "id", kind: "rust_fn", spec: { fn_id: "identity" } }],
  flow: { kind: "step", ref: "id", in: "$.x", out: "$.y" },
};

/** One ask of `$.q` to `role`: a run parked on that seat with its question. */
export function askBlueprint(role: string) {
  return { id: "p", agents: [], flow: { kind: "ask", to: role, question: "$.q", out: "$.a" } };
}

/** POSTs a run of the inline Blueprint `value` (more body fields in `extra`). */
export function postInline(
  base: string,
  path: "/v1/runs" | "/v1/tasks",
  value: unknown,
  extra: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ blueprint: { kind: "inline", value }, init_ctx: {}, ...extra }),
    signal,
  });
}
