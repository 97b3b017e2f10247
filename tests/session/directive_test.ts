/**
 * The `directive` of a `spawn` frame over a real socket (reference/http.md §9.12): its
 * marker lines in order, and the blocks that only `metadata.project_name_alias` adds.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { firstSpawn, operatorAgentBlueprint, runEnded } from "../engine/_loop.ts";

/** Where each needle starts in `text`, asserting every one is there. */
function positions(text: string, needles: string[]): number[] {
  return needles.map((needle) => {
    const at = text.indexOf(needle);
    assert.ok(at >= 0, `directive lacks ${JSON.stringify(needle)}:\n${text}`);
    return at;
  });
}

Deno.test("a Blueprint's project_name_alias puts the alias line and the LDS session block in the directive", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await firstSpawn(
    server,
    operatorAgentBlueprint({ metadata: { project_name_alias: "proj-7" } }),
  );
  const at = positions(spawn.directive, [
    "[agent_primitive dispatch=@impl]\nworker endpoint:\n",
    `\ntask_id: ${spawn.task_id}\nagent_id: impl\nproject_name_alias: proj-7\n`,
    "\n[Data path endpoint — MainAgent reminder]\n",
    "\n[LDS Session Alias Reminder — MainAI mandatory]\n",
    'mcp__lds__session_create(root=<working_dir>, alias="proj-7")',
    "LDS Session Alias: proj-7",
    'mcp__lds__session_start(alias="proj-7")',
    "Start a sub-agent of type mse-worker",
  ]);
  assert.deepEqual(at, [...at].sort((a, b) => a - b), "the blocks come in the reference's order");
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: 1 });
  assert.equal((await runEnded(server, runId)).status, "succeeded");
  await op.ws.close();
});

Deno.test("without project_name_alias the directive has neither the alias line nor the LDS block", async () => {
  await using server = await startServer();
  const { op, runId, spawn } = await firstSpawn(server);
  positions(spawn.directive, [`\nagent_id: impl\n`, "spawn_ack", "mse-worker"]);
  for (const absent of ["project_name_alias:", "LDS Session Alias", "session_create"]) {
    assert.equal(spawn.directive.includes(absent), false, `${absent} in:\n${spawn.directive}`);
  }
  op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: 1 });
  assert.equal((await runEnded(server, runId)).status, "succeeded");
  await op.ws.close();
});
