/**
 * The Blueprints the benches drive, as the shared measuring stick writes them:
 * one operator `spawn` step, and three in-process `identity` steps.
 *
 * @module
 */

/** One operator agent behind `role`: a `spawn` of `"x"`, its value at `$.r`. */
export function spawnBlueprint(id: string, role: string) {
  return {
    id,
    operators: [{ name: role }],
    agents: [{ name: "impl", kind: "operator", spec: { operator_ref: role } }],
    flow: {
      kind: "step",
      ref: "impl",
      in: { op: "lit", value: "x" },
      out: { op: "path", at: "$.r" },
    },
  };
}

/** Three `identity` steps in a row, writing `$.s1`..`$.s3`. */
export function identityBlueprint(id: string) {
  const step = (i: number) => ({
    kind: "step",
    ref: "identity",
    in: { op: "lit", value: `v${i}` },
    out: { op: "path", at: `$.s${i}` },
  });
  return {
    id,
    agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: { kind: "seq", children: [step(1), step(2), step(3)] },
  };
}
