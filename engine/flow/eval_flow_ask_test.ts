import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import { type AskRequest, evalFlow, FlowError, StepError } from "./mod.ts";
import { norm } from "./_testing.ts";

const flow = norm({
  kind: "seq",
  children: [
    {
      kind: "ask",
      to: "reviewer",
      question: { op: "object", fields: { draft: "$.draft" } },
      schema: { type: "object" },
      timeout_secs: 5,
      on_timeout: { kind: "default", value: { decision: "hold" } },
      out: "$.review",
    },
    { kind: "assign", at: "$.done", value: "$.review.decision" },
  ],
});

Deno.test("evalFlow() hands an ask node to the ask capability and writes its answer", async () => {
  const asks: AskRequest[] = [];
  const final = await evalFlow(flow, { draft: "ship it?" }, {
    dispatch: () => Promise.reject(new Error("no steps here")),
    ask: (req) => {
      asks.push(req);
      return Promise.resolve({ decision: "ship" });
    },
  });
  assert.deepEqual(final, { draft: "ship it?", review: { decision: "ship" }, done: "ship" });
  assert.equal(asks.length, 1);
  assert.equal(asks[0].key, "/children/0");
  assert.deepEqual(asks[0].question, { draft: "ship it?" });
  assert.equal(asks[0].node.to, "reviewer");
  assert.deepEqual(asks[0].node.on_timeout, { kind: "default", value: { decision: "hold" } });
});

Deno.test("evalFlow() fails an ask node whose capability throws a StepError, and try catches it", async () => {
  const failing = (): Promise<Json> => Promise.reject(new StepError("ask timed out after 5 s"));
  await assert.rejects(
    evalFlow(flow, { draft: 1 }, { dispatch: () => Promise.resolve(null), ask: failing }),
    (err) =>
      err instanceof FlowError && err.message === "ask to 'reviewer': ask timed out after 5 s",
  );
  const guarded = {
    kind: "try" as const,
    body: flow,
    catch: norm({ kind: "assign", at: "$.x", value: "1" }),
    err_at: { op: "path" as const, at: "$.why" },
  };
  const final = await evalFlow(guarded, { draft: 1 }, {
    dispatch: () => Promise.resolve(null),
    ask: failing,
  });
  assert.deepEqual(final, { draft: 1, x: 1, why: "ask to 'reviewer': ask timed out after 5 s" });
});

Deno.test("evalFlow() refuses an ask node when no ask capability is given", async () => {
  await assert.rejects(
    evalFlow(flow, {}, { dispatch: () => Promise.resolve(null) }),
    /without an ask capability/,
  );
});
