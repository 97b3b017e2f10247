/**
 * Tokens of a run that ended before a restart answer 410 after it: only live
 * token records are loaded at boot, and the rest answer from the KV store.
 */
import assert from "node:assert/strict";
import { openDeps } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import { startServer } from "../_helpers.ts";
import {
  get,
  nextOf,
  operatorAgentBlueprint,
  post,
  runEnded,
  seat,
  startRun,
} from "../engine/_loop.ts";
import { tempKv } from "./_child.ts";

Deno.test("a run's capability token and handle answer 410 after a restart, not 401", async () => {
  await using kvFile = await tempKv();
  const config = defaultConfig({ kvPath: kvFile.path });
  let token: string;
  let handle: string;
  let taskId: string;
  {
    const deps = await openDeps(config);
    await using server = await startServer({ deps });
    const op = await seat(server, ["main-ai"]);
    const runId = await startRun(server, {
      blueprint: { kind: "inline", value: operatorAgentBlueprint() },
      init_ctx: {},
    });
    const spawn = await nextOf(op.ws, "spawn");
    ({ capability_token: token, task_id: taskId } = spawn);
    handle = spawn.worker_handle!;
    const posted = await post(server, "/v1/worker/result", { task_id: taskId, value: 1 }, {
      authorization: `Bearer ${token}`,
    });
    assert.equal(posted.status, 204);
    op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true });
    assert.equal((await runEnded(server, runId)).status, "succeeded");
    await op.ws.close();
    await server.close();
    await deps.close();
  }
  const deps = await openDeps(config);
  await using server = await startServer({ deps });
  try {
    assert.equal(deps.tokens.sizes().live, 0, "no ended token is loaded at boot");
    for (const bearer of [token, handle]) {
      const res = await get(server, `/v1/worker/prompt?task_id=${taskId}`, {
        authorization: `Bearer ${bearer}`,
      });
      assert.equal(res.status, 410, JSON.stringify(res.body));
      assert.match(String(res.body!.error), /ended/);
    }
  } finally {
    await server.close();
    await deps.close();
  }
});
