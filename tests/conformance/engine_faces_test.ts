/**
 * Conformance probes for reference/engine.md §1–§5 and §7–§10 as an outside
 * client sees them: the three operator faces and the kinds that select them,
 * the order of the layers, operator-agent personas, the data path, sessions and
 * the run TTL, over real HTTP and real sockets.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer, type TestServer, type TestSocket } from "../_helpers.ts";
import type { ServerFrame } from "../../protocol/frames.ts";
import { get, nextOf, post, runEnded, seat, startRun } from "../engine/_loop.ts";

const inline = (value: unknown) => ({ kind: "inline", value });

/** An operator-kind agent `impl` behind role `main-ai`, with the given hint layers. */
function layered(layers: string[], extra: Record<string, unknown> = {}) {
  return {
    id: "layers",
    operators: [{ name: "main-ai" }],
    spawner_hints: { layers },
    agents: [{ name: "impl", kind: "operator", spec: { operator_ref: "main-ai" } }],
    flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
    ...extra,
  };
}

/** Frames of the listed types in arrival order, until `stop` returns true. */
async function collect(
  ws: TestSocket,
  onFrame: (f: ServerFrame) => boolean | void,
  limit = 20,
): Promise<ServerFrame[]> {
  const seen: ServerFrame[] = [];
  for (let i = 0; i < limit; i++) {
    const frame = await ws.next();
    if (frame.type === "pong") continue;
    seen.push(frame);
    if (onFrame(frame) === true) return seen;
  }
  throw new Error(`no end after ${limit} frames: ${JSON.stringify(seen.map((f) => f.type))}`);
}

Deno.test("operator kind values are case-sensitive: a bad kind or per-agent kind is 400 with the 0.1.2 text", async () => {
  await using server = await startServer();
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ kind: "Main_AI" }, "Main_AI"],
    [{ kind: "human" }, "human"],
    [{ per_agent_kinds: { identity: "AUTOMATE" } }, "AUTOMATE"],
  ];
  for (const path of ["/v1/tasks", "/v1/runs"]) {
    for (const [operator, value] of cases) {
      const res = await post(server, path, {
        blueprint: { kind: "id", id: "main" },
        init_ctx: {},
        operator,
      });
      assert.equal(res.status, 400, `${path} ${JSON.stringify(res.body)}`);
      assert.equal(
        res.body!.error,
        `operator kind: unknown value '${value}' (expected main_ai|automate|composite)`,
      );
    }
  }
});

/** One identity step `impl` with the given hint layers (a delegate replaces it). */
function identityLayered(layers: string[]) {
  return {
    id: "layers-fn",
    spawner_hints: { layers },
    agents: [{ name: "impl", kind: "rust_fn", spec: { fn_id: "identity" } }],
    flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
  };
}

Deno.test("layers [main_ai, senior_escalation, operator_delegate]: the delegate is outermost, so neither hooks nor escalation fire (§4.2)", async () => {
  await using server = await startServer();
  const op = await seat(server, ["lead"]);
  const runId = await startRun(server, {
    blueprint: inline(identityLayered(["main_ai", "senior_escalation", "operator_delegate"])),
    init_ctx: {},
    operator: {
      kind: "main_ai",
      spawn_hook_id: op.sid,
      senior_bridge_id: op.sid,
      operator_backend_id: "lead",
    },
  });
  const seen = await collect(op.ws, (f) => {
    if (f.type === "spawn") {
      op.ws.send({ type: "spawn_ack", req_id: f.req_id, ok: false, value: "no" });
      return true;
    }
  });
  assert.deepEqual(seen.map((f) => f.type), ["spawn"]);
  const run = await runEnded(server, runId);
  assert.equal(run.status, "failed");
  assert.match(run.error!, /dispatcher error for ref 'impl': blocked: "no"$/);
  op.ws.send({ type: "ping" });
  assert.equal((await op.ws.next()).type, "pong", "no hook_after nor ask came after the run");
  await op.ws.close();
});

Deno.test("layers [operator_delegate, senior_escalation, main_ai]: before, execute, escalation, then after sees the escalated value (§4.2)", async () => {
  await using server = await startServer();
  const op = await seat(server, ["lead"]);
  const runId = await startRun(server, {
    blueprint: inline(identityLayered(["operator_delegate", "senior_escalation", "main_ai"])),
    init_ctx: {},
    operator: {
      kind: "main_ai",
      spawn_hook_id: op.sid,
      senior_bridge_id: op.sid,
      operator_backend_id: op.sid,
    },
  });
  const seen = await collect(op.ws, (f) => {
    if (f.type === "hook_before") op.ws.send({ type: "hook_ack", req_id: f.req_id, ok: true });
    if (f.type === "spawn") {
      op.ws.send({ type: "spawn_ack", req_id: f.req_id, ok: false, value: "draft" });
    }
    if (f.type === "ask") {
      assert.deepEqual(f.question, { reason: "worker reported ok=false", value: "draft" });
      op.ws.send({ type: "answer", req_id: f.req_id, value: "fine" });
    }
    if (f.type === "hook_after") {
      assert.deepEqual(f.result, { original: "draft", senior_answer: "fine" });
      assert.equal("ok" in f, false, "hook_after carries no ok");
      return true;
    }
  });
  assert.deepEqual(seen.map((f) => f.type), ["hook_before", "spawn", "ask", "hook_after"]);
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { original: "draft", senior_answer: "fine" } });
  await op.ws.close();
});

Deno.test("layers [main_ai, senior_escalation] with an operator agent: after sees the value before escalation (§4.2)", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(layered(["main_ai", "senior_escalation"])),
    init_ctx: {},
    operator: { kind: "composite", spawn_hook_id: op.sid, senior_bridge_id: op.sid },
  });
  const seen = await collect(op.ws, (f) => {
    if (f.type === "hook_before") op.ws.send({ type: "hook_ack", req_id: f.req_id, ok: true });
    if (f.type === "spawn") {
      op.ws.send({ type: "spawn_ack", req_id: f.req_id, ok: false, value: { v: 1 } });
    }
    if (f.type === "hook_after") assert.deepEqual(f.result, { v: 1 });
    if (f.type === "ask") {
      op.ws.send({ type: "answer", req_id: f.req_id, value: "go" });
      return true;
    }
  });
  assert.deepEqual(seen.map((f) => f.type), ["hook_before", "spawn", "hook_after", "ask"]);
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: { original: { v: 1 }, senior_answer: "go" } });
  await op.ws.close();
});

Deno.test("a hint key listed twice wraps twice; an unknown key is skipped (§3.3)", async () => {
  await using server = await startServer();
  const op = await seat(server);
  const runId = await startRun(server, {
    blueprint: inline(identityLayered(["main_ai", "no_such_layer", "main_ai"])),
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: op.sid },
  });
  let afters = 0;
  const seen = await collect(op.ws, (f) => {
    if (f.type === "hook_before") op.ws.send({ type: "hook_ack", req_id: f.req_id, ok: true });
    if (f.type === "hook_after") return ++afters === 2;
  });
  assert.deepEqual(seen.map((f) => f.type), [
    "hook_before",
    "hook_before",
    "hook_after",
    "hook_after",
  ]);
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  await op.ws.close();
});

/** A run of one operator step, up to its spawn; `done()` acks it and waits for the end. */
async function spawned(server: TestServer) {
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, { blueprint: inline(layered([])), init_ctx: {} });
  const spawn = await nextOf(op.ws, "spawn");
  return {
    op,
    spawn,
    async done() {
      op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: true, value: 1 });
      assert.equal((await runEnded(server, runId)).status, "succeeded");
      await op.ws.close();
    },
  };
}

async function emit(
  server: TestServer,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return await post(server, path, body, headers);
}

Deno.test("data path: a capability token by header or ?token=, /v1/data/:name names the producer, reads by id and latest name (§8)", async () => {
  await using server = await startServer();
  const { spawn, done } = await spawned(server);
  const token = spawn.capability_token!;
  const event = { type: "final", content: { kind: "inline", value: { n: 1 } }, ok: true };
  const first = await emit(
    server,
    "/v1/data/emit",
    { task_id: spawn.task_id, attempt: 1, producer_agent: "rep", event },
    { authorization: `Bearer ${token}` },
  );
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(Object.keys(first.body!), ["out_id"]);
  assert.match(String(first.body!.out_id), /^out-[0-9a-f]+$/);

  // ?token= when no header is present; the path's name wins over a body producer_agent
  const second = await emit(
    server,
    `/v1/data/rep?token=${encodeURIComponent(token)}`,
    {
      task_id: spawn.task_id,
      attempt: 1,
      producer_agent: "ignored",
      event: { type: "progress", stage: "s2", note: "n" },
      parent_refs: [first.body!.out_id],
    },
  );
  assert.equal(second.status, 200, JSON.stringify(second.body));

  const byId = await get(server, `/v1/data/${first.body!.out_id}`);
  assert.equal(byId.status, 200);
  assert.deepEqual(byId.body, {
    id: first.body!.out_id,
    task_id: spawn.task_id,
    attempt: 1,
    producer_agent: "rep",
    event,
    parent_refs: [],
  });
  const latest = await get(server, "/v1/data/rep");
  assert.equal(latest.status, 200);
  assert.equal(latest.body!.id, second.body!.out_id);
  assert.equal(latest.body!.producer_agent, "rep");
  assert.deepEqual(latest.body!.parent_refs, [first.body!.out_id]);
  assert.equal((await get(server, "/v1/data/ignored")).status, 404);

  const missing = await get(server, "/v1/data/nope");
  assert.equal(missing.status, 404);
  assert.equal(missing.body!.error, "output not found (id nor name): nope");
  await done();
});

Deno.test("data emits: the header wins over ?token=, and credential errors have the 0.1.2 texts (§8, http.md §6.1)", async () => {
  await using server = await startServer();
  const { spawn, done } = await spawned(server);
  const body = {
    task_id: spawn.task_id,
    attempt: 1,
    producer_agent: "p",
    event: { type: "progress", stage: "s" },
  };
  const q = `?token=${encodeURIComponent(spawn.capability_token!)}`;
  const scheme = await emit(server, `/v1/data/emit${q}`, body, { authorization: "Basic abc" });
  assert.equal(scheme.status, 400);
  assert.equal(scheme.body!.error, "Authorization must be 'Bearer <token>'");
  const none = await emit(server, "/v1/data/emit", body);
  assert.equal(
    none.body!.error,
    "missing token: pass 'Authorization: Bearer <token>' or '?token=<token>'",
  );
  const empty = await emit(server, "/v1/data/emit?token=%20", body);
  assert.equal(empty.status, 400);
  assert.equal(empty.body!.error, "token is empty");
  const garbage = await emit(server, "/v1/data/emit?token=not*a*token", body);
  assert.equal(garbage.status, 400);
  assert.match(String(garbage.body!.error), /^invalid token: /);
  const wrong = await emit(server, "/v1/data/emit", body, { authorization: "Bearer not*a*token" });
  assert.equal(wrong.status, 400);
  assert.match(String(wrong.body!.error), /^invalid token: /);
  const shape = await emit(server, `/v1/data/emit${q}`, { ...body, event: { type: "nope" } });
  assert.equal(shape.status, 422);
  await done();
});

Deno.test("POST /v1/sessions lowercases the role to match it and names it lowercased when unknown (http.md §3.2)", async () => {
  await using server = await startServer();
  const ok = await post(server, "/v1/sessions", { agent_id: "a", role: "SeNiOr", ttl_secs: 60 });
  assert.equal(ok.status, 200);
  assert.equal(ok.body!.role, "SeNiOr");
  assert.match(String(ok.body!.session_id), /^[0-9a-f]{32}$/);
  const bad = await post(server, "/v1/sessions", { agent_id: "a", role: "JANITOR", ttl_secs: 60 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body!.error, "unknown role: janitor");
  const res = await fetch(`${server.base}/v1/sessions`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${ok.body!.session_id}` },
  });
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
});

/** An operator agent with a persona, fed `input` (an expression). */
function persona(systemPrompt: string, input: unknown, flow?: unknown) {
  return layered([], {
    agents: [{
      name: "impl",
      kind: "operator",
      spec: { operator_ref: "main-ai" },
      profile: { system_prompt: systemPrompt },
    }],
    flow: flow ?? { kind: "step", ref: "impl", in: input, out: "$.r" },
  });
}

async function promptOf(server: TestServer, handle: string, taskId: string) {
  const res = await get(server, `/v1/worker/prompt?task_id=${taskId}`, {
    authorization: `Bearer ${handle}`,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body!;
}

Deno.test("an operator agent's persona sees the top-level keys of an object prompt, else only `directive` (§5.4)", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const cases: Array<[string, unknown, string, string]> = [
    ["Hi {{ name }} #{{ n }}", { op: "lit", value: { name: "Ann", n: 2 } }, "Hi Ann #2", ""],
    ["[{{ directive }}]", { op: "lit", value: [1, 2] }, "[[1,2]]", "[1,2]"],
    ["[{{ directive }}]", "'plain'", "[plain]", "plain"],
  ];
  for (const [template, input, system, prompt] of cases) {
    const runId = await startRun(server, {
      blueprint: inline(persona(template, input)),
      init_ctx: {},
    });
    const spawn = await nextOf(op.ws, "spawn");
    const got = await promptOf(server, spawn.worker_handle!, spawn.task_id);
    assert.equal(got.system, system, template);
    if (prompt) assert.equal(got.prompt, prompt);
    op.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "v" });
    assert.equal((await runEnded(server, runId)).status, "succeeded");
  }
  await op.ws.close();
});

Deno.test("a persona naming an undefined variable fails the spawn before any frame, catchable by try (§5.4, blueprint.md §2.7)", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const failed = await post(server, "/v1/tasks", {
    blueprint: inline(persona("Hi {{ nobody }}", "'x'")),
    init_ctx: {},
  });
  assert.equal(failed.status, 400);
  assert.match(
    String(failed.body!.error),
    /^run: launch: flow eval: dispatcher error for ref 'impl': dispatch failed: render system_prompt: template render failed: /,
  );
  const caught = await post(server, "/v1/tasks", {
    blueprint: inline(persona("Hi {{ nobody }}", "'x'", {
      kind: "try",
      body: { kind: "step", ref: "impl", in: "'x'", out: "$.r" },
      catch: { kind: "assign", at: "$.caught", value: { op: "lit", value: true } },
      err_at: "$.err",
    })),
    init_ctx: {},
  });
  assert.equal(caught.status, 200, JSON.stringify(caught.body));
  const ctx = caught.body!.final_ctx as Record<string, unknown>;
  assert.equal(ctx.caught, true);
  assert.match(String(ctx.err), /render system_prompt: template render failed: /);
  op.ws.send({ type: "ping" });
  assert.equal((await op.ws.next()).type, "pong", "no spawn was sent");
  await op.ws.close();
});

Deno.test("POST /v1/tasks checks operator_sid, then the kinds, then resolves the Blueprint (http.md §3.4 order)", async () => {
  await using server = await startServer();
  const unknownBp = { blueprint: { kind: "id", id: "nope" }, init_ctx: {} };
  const sid = await post(server, "/v1/tasks", {
    ...unknownBp,
    operator_sid: "op-x",
    operator: { kind: "bad" },
  });
  assert.equal(sid.status, 400);
  assert.equal(sid.body!.error, "operator_sid: no such registered operator session 'op-x'");
  const kind = await post(server, "/v1/tasks", { ...unknownBp, operator: { kind: "" } });
  assert.equal(kind.status, 400);
  assert.equal(
    kind.body!.error,
    "operator kind: unknown value '' (expected main_ai|automate|composite)",
  );
  const bp = await post(server, "/v1/tasks", unknownBp);
  assert.equal(bp.status, 400);
  assert.equal(bp.body!.error, "bp resolve: store: head ref empty: id=nope");
});

Deno.test("operator_sid (a role alias too) replaces operator_backend_id; a delegated operator agent's own seat gets nothing (§3.1, §4.3.3)", async () => {
  await using server = await startServer();
  const pinned = await seat(server, ["pinned"]);
  const own = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(layered(["operator_delegate"])),
    init_ctx: {},
    operator_sid: "pinned",
    operator: { operator_backend_id: "main-ai" },
  });
  const spawn = await nextOf(pinned.ws, "spawn");
  assert.equal(spawn.agent, "impl");
  pinned.ws.send({ type: "spawn_ack", req_id: spawn.req_id, value: "from pinned" });
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: "from pinned" });
  own.ws.send({ type: "ping" });
  assert.equal((await own.ws.next()).type, "pong", "the agent's own seat got no spawn");
  await pinned.ws.close();
  await own.ws.close();
});

Deno.test("a webhook worker sits under the layers like any agent: a veto never calls it; ok:false escalates, then after sees the escalated value (§4.3, §5.5)", async () => {
  const calls: Array<Record<string, unknown>> = [];
  const hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    calls.push(await req.json());
    return Response.json({ value: { draft: calls.length }, ok: false });
  });
  try {
    await using server = await startServer({
      config: {
        webhooksJson: JSON.stringify({
          remote: { url: `http://127.0.0.1:${hook.addr.port}/w`, mode: "sync", timeout_ms: 5000 },
        }),
      },
    });
    const op = await seat(server);
    const body = {
      blueprint: inline({
        id: "remote",
        spawner_hints: { layers: ["senior_escalation", "main_ai"] },
        agents: [{ name: "impl", kind: "rust_fn", spec: { fn_id: "remote" } }],
        flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
      }),
      init_ctx: {},
      operator: { kind: "main_ai", spawn_hook_id: op.sid, senior_bridge_id: op.sid },
    };

    const vetoed = await startRun(server, body);
    const hb = await nextOf(op.ws, "hook_before");
    op.ws.send({ type: "hook_ack", req_id: hb.req_id, ok: false, reason: "not now" });
    const failed = await runEnded(server, vetoed);
    assert.equal(
      failed.error,
      "dispatcher error for ref 'impl': dispatch failed: spawn rejected by middleware: not now",
    );
    assert.equal(calls.length, 0, "a vetoed spawn never reaches the webhook");

    const runId = await startRun(server, body);
    const seen = await collect(op.ws, (f) => {
      if (f.type === "hook_before") op.ws.send({ type: "hook_ack", req_id: f.req_id, ok: true });
      if (f.type === "ask") {
        assert.deepEqual(f.question, { reason: "worker reported ok=false", value: { draft: 1 } });
        op.ws.send({ type: "answer", req_id: f.req_id, value: "ship" });
      }
      if (f.type === "hook_after") {
        assert.deepEqual(f.result, { original: { draft: 1 }, senior_answer: "ship" });
        return true;
      }
    });
    assert.deepEqual(seen.map((f) => f.type), ["hook_before", "ask", "hook_after"]);
    const run = await runEnded(server, runId);
    assert.equal(run.status, "succeeded", run.error);
    assert.deepEqual(run.final_ctx, { r: { original: { draft: 1 }, senior_answer: "ship" } });
    assert.equal(calls.length, 1);
    assert.equal(calls[0].prompt, "do X");
    await op.ws.close();
  } finally {
    await hook.shutdown();
  }
});

Deno.test("DELETE of the senior's seat during an escalation: the step stays blocked at once and the run's error names `operator session deleted` (SPEC §3, engine.md §4.3.2)", async () => {
  await using server = await startServer();
  const worker = await seat(server, ["main-ai"]);
  const senior = await seat(server);
  const runId = await startRun(server, {
    blueprint: inline(layered(["senior_escalation"])),
    init_ctx: {},
    operator: { senior_bridge_id: senior.sid },
  });
  const spawn = await nextOf(worker.ws, "spawn");
  worker.ws.send({ type: "spawn_ack", req_id: spawn.req_id, ok: false, value: "meh" });
  await nextOf(senior.ws, "ask");
  const deleted = await fetch(`${server.base}/v1/operators/${senior.sid}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${senior.token}` },
  });
  assert.equal(deleted.status, 204);
  const run = await runEnded(server, runId);
  assert.equal(run.status, "failed");
  assert.equal(
    run.error,
    `dispatcher error for ref 'impl': blocked: "meh" (no senior answer: operator session deleted)`,
  );
  assert.deepEqual(run.steps.map((s) => s.verdict), ["blocked"]);
  await worker.ws.close();
});

Deno.test("explicit automate skips the spawn hook but not the operator: an operator agent still gets its spawn (§5)", async () => {
  await using server = await startServer();
  const op = await seat(server, ["main-ai"]);
  const runId = await startRun(server, {
    blueprint: inline(layered(["main_ai"], { default_operator_kind: "main_ai" })),
    init_ctx: {},
    operator: { kind: "automate", spawn_hook_id: op.sid },
  });
  const seen = await collect(op.ws, (f) => {
    if (f.type === "spawn") {
      op.ws.send({ type: "spawn_ack", req_id: f.req_id, value: "done" });
      return true;
    }
  });
  assert.deepEqual(seen.map((f) => f.type), ["spawn"]);
  const run = await runEnded(server, runId);
  assert.equal(run.status, "succeeded", run.error);
  assert.deepEqual(run.final_ctx, { r: "done" });
  op.ws.send({ type: "ping" });
  assert.equal((await op.ws.next()).type, "pong", "no hook_after either");
  await op.ws.close();
});

Deno.test("a hook veto ends the task `failed`, never `running`, with the default reason (SPEC §5)", async () => {
  await using server = await startServer();
  const op = await seat(server);
  const vetoed = await startRun(server, {
    blueprint: inline(identityLayered(["main_ai"])),
    init_ctx: {},
    operator: { kind: "main_ai", spawn_hook_id: op.sid },
  });
  const hb = await nextOf(op.ws, "hook_before");
  op.ws.send({ type: "hook_ack", req_id: hb.req_id, ok: false });
  const run = await runEnded(server, vetoed);
  assert.equal(run.status, "failed");
  assert.equal(
    run.error,
    "dispatcher error for ref 'impl': dispatch failed: spawn rejected by middleware: ws operator: spawn rejected",
  );
  assert.deepEqual(run.steps.map((s) => [s.attempt, s.verdict]), [[1, "failed"]]);
  await op.ws.close();
});
