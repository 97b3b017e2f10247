/**
 * An operator agent's `profile.system_prompt` is a template the server parses
 * when it takes the Blueprint. Blocks nested 14,000 deep overflowed the parser's
 * stack: `POST /v1/blueprints/:id` answered 500 `internal`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";

Deno.test("a system_prompt with blocks nested 14,000 deep is refused with 422, not a 500", async () => {
  await using server = await startServer();
  const depth = 14_000;
  const blueprint = {
    id: "deep-prompt",
    operators: [{ name: "main-ai" }],
    agents: [{
      name: "impl",
      kind: "operator",
      spec: { operator_ref: "main-ai" },
      profile: { system_prompt: "{%if 1%}".repeat(depth) + "x" + "{%endif%}".repeat(depth) },
    }],
    flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
  };
  const res = await fetch(`${server.base}/v1/blueprints/deep-prompt`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(blueprint),
  });
  const body = await res.json();
  assert.equal(res.status, 422, JSON.stringify(body).slice(0, 300));
  assert.match(JSON.stringify(body), /blocks nested deeper than 64/);
  const run = await fetch(`${server.base}/v1/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ blueprint: { kind: "inline", value: blueprint }, init_ctx: {} }),
  });
  const runBody = await run.json();
  assert.ok(run.status < 500, `${run.status} ${JSON.stringify(runBody).slice(0, 300)}`);
});
