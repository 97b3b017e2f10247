import assert from "node:assert/strict";
import { isSwitchboardError } from "../protocol/errors.ts";
import type { RequestFrame } from "../protocol/frames.ts";
import { checkReply, settlementOf } from "./reply_audit.ts";

const by = { sid: "op-1", roles: ["r"], client: null };

Deno.test("checkReply() refuses an answer that does not match its ask's schema, with the issues", async () => {
  const ask: RequestFrame = {
    type: "ask",
    req_id: "x",
    task_id: "t",
    question: "n?",
    schema: { type: "integer", minimum: 1 },
  };
  await checkReply(ask, { type: "answer", req_id: "x", value: 3 }, "op-a");
  assert.equal(
    checkReply(
      { ...ask, schema: undefined },
      { type: "answer", req_id: "x", value: "any" },
      "op-a",
    ),
    undefined,
  );
  await assert.rejects(
    checkReply(ask, { type: "answer", req_id: "x", value: 0 }, "op-a")!,
    (err) => {
      assert.ok(isSwitchboardError(err, "invalid"));
      assert.equal(err.message, "answer does not match the ask's schema: / must be >= 1");
      assert.deepEqual(err.extra?.issues, [{ path: [], pointer: "", message: "must be >= 1" }]);
      return true;
    },
  );
});

Deno.test("settlementOf() records the value, the verdict and an approval's edits", () => {
  assert.deepEqual(settlementOf({ type: "answer", req_id: "x", value: null }, by, 5), {
    by,
    at: 5,
    value: null,
    ok: true,
  });
  assert.deepEqual(
    settlementOf({ type: "hook_ack", req_id: "x", ok: true, input: "edited" }, by, 5),
    { by, at: 5, value: null, ok: true, edits: { input: "edited" } },
  );
  assert.deepEqual(
    settlementOf({ type: "hook_ack", req_id: "x", ok: false, reason: "no" }, by, 5),
    {
      by,
      at: 5,
      value: "no",
      ok: false,
    },
  );
  assert.deepEqual(
    settlementOf({ type: "spawn_ack", req_id: "x", value: 1, ok: true, error: "boom" }, by, 5),
    { by, at: 5, value: "boom", ok: false },
  );
});
