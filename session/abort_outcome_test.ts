import assert from "node:assert/strict";
import { RunEnded } from "../engine/faces.ts";
import { abortOutcome, ParentEnded } from "./abort_outcome.ts";

Deno.test("abortOutcome maps each abort reason to its cancel reason and rejection", async (t) => {
  const ended = new RunEnded("run_ended");
  const parent = new ParentEnded();
  const other = new Error("gone");
  const cases: [string, unknown, string, (error: unknown) => boolean][] = [
    ["a run's end", ended, "run_ended", (e) => e === ended],
    ["a run's deadline", new RunEnded("timeout"), "timeout", (e) => timedOut(e)],
    ["AbortSignal.timeout", new DOMException("t", "TimeoutError"), "timeout", (e) => timedOut(e)],
    ["the spawn's end", parent, "parent_ended", (e) => e === parent],
    ["anything else", other, "run_ended", (e) => e === other],
  ];
  for (const [name, reason, cancel, isError] of cases) {
    await t.step(name, () => {
      const outcome = abortOutcome(reason);
      assert.equal(outcome.cancel, cancel);
      assert.ok(isError(outcome.error));
    });
  }
});

function timedOut(error: unknown): boolean {
  return error instanceof Error && error.message === "operator request timed out";
}
