import assert from "node:assert/strict";
import { answerIssues, AnswerSchemaError, checkAnswerSchema } from "./answer_schema.ts";

Deno.test("answerIssues() lists every issue with its JSON pointer", () => {
  const schema = {
    type: "object",
    required: ["decision", "note"],
    properties: {
      decision: { type: "string", enum: ["ship", "hold"] },
      note: { type: "string" },
    },
  };
  assert.deepEqual(answerIssues(schema, { decision: "ship", note: "fine" }), []);
  const issues = answerIssues(schema, { decision: "maybe" });
  assert.deepEqual(issues.map((i) => i.path).sort(), ["/", "/decision"]);
  assert.equal(answerIssues({ type: "integer" }, "x")[0].path, "/");
});

Deno.test("checkAnswerSchema() refuses a broken schema and lets two schemas share an $id", () => {
  assert.throws(() => checkAnswerSchema({ type: 12 }), AnswerSchemaError);
  checkAnswerSchema({ $id: "https://x.invalid/a", type: "string" });
  assert.deepEqual(answerIssues({ $id: "https://x.invalid/a", type: "number" }, 1), []);
});
