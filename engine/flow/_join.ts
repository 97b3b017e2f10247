/**
 * The fanout joins (reference/blueprint.md §2.5): how branch outcomes become the
 * value written at `out`, and which branches are abandoned.
 *
 * @module
 */
import type { FanoutJoin } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { FlowError } from "../expr/mod.ts";

/**
 * Joins branch promises (each resolving with its branch's final ctx, in item
 * order) and calls `abandon` once the join has settled, so pending branches can be
 * aborted:
 *
 * - `all`: every ctx in item order; the first failure in time fails the join;
 * - `any`: the first success in time; if all fail, the last failure;
 * - `race`: the first branch to settle, success or failure;
 * - `all_settled`: `{status, value}` / `{status, reason}` per item, never failing.
 *
 * A rejection that is not a `FlowError` (a cancellation reason, an internal
 * error) or is a `budget` one fails every join at once. `branches` must not be empty.
 */
export function joinBranches(
  mode: FanoutJoin,
  branches: Promise<Json>[],
  abandon: () => void,
): Promise<Json> {
  return new Promise<Json>((resolve, reject) => {
    const results: Json[] = new Array(branches.length);
    let pending = branches.length;
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      abandon();
      finish();
    };
    branches.forEach((branch, i) => {
      branch.then(
        (ctx) => {
          if (settled) return;
          pending--;
          if (mode === "any" || mode === "race") return settle(() => resolve(ctx));
          results[i] = mode === "all" ? ctx : { status: "fulfilled", value: ctx };
          if (pending === 0) settle(() => resolve(results));
        },
        (error: unknown) => {
          if (settled) return;
          pending--;
          const fatal = !(error instanceof FlowError) || error.kind === "budget";
          if (fatal || mode === "all" || mode === "race") {
            return settle(() => reject(error));
          }
          if (mode === "all_settled") results[i] = { status: "rejected", reason: error.message };
          if (pending === 0) {
            settle(() => (mode === "any" ? reject(error) : resolve(results)));
          }
        },
      );
    });
  });
}
