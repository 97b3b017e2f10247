/**
 * Conformance (SPEC §5 durability): a run that waits on operator asks inside a
 * fanout, a loop and a try's catch survives a SIGKILL at each of those waits. After
 * each restart the pending ask is replayed unchanged, the answer resumes the run
 * from where it stopped, and no finished in-process step runs again.
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { openSocket, type TestSocket } from "../_helpers.ts";
import { call, type ChildServer, readEvents, spawnServer, tempKv } from "../durable/_child.ts";

type AskFrame = Extract<ServerFrame, { type: "ask" }>;

async function nextAsk(ws: TestSocket): Promise<AskFrame> {
  for (let i = 0; i < 50; i++) {
    const frame = await ws.next({ signal: AbortSignal.timeout(20_000) });
    if (frame.type === "ask") return frame;
  }
  throw new Error("no ask frame in 50 frames");
}

const ask = (question: string, out: string) => ({ kind: "ask", to: "rev", question, out });
const identity = (name: string) => ({ name, kind: "rust_fn", spec: { fn_id: "identity" } });

/** Asks in a fanout branch, in two loop passes and in a try's catch, between in-process steps. */
const NESTED = {
  id: "nested-durable",
  agents: [identity("first"), identity("side"), identity("last")],
  strategy: { strict_refs: false, strict_kind: true },
  flow: {
    kind: "seq",
    children: [
      { kind: "step", ref: "first", in: "$.goal", out: "$.a" },
      {
        kind: "fanout",
        items: "[1, 2]",
        bind: "$.i",
        join: "all",
        out: "$.fan",
        body: {
          kind: "branch",
          cond: "$.i == 1",
          then: ask("'branch one'", "$.ans"),
          else: { kind: "step", ref: "side", in: "$.i", out: "$.r" },
        },
      },
      {
        kind: "loop",
        counter: "$.n",
        cond: "true",
        max: 2,
        body: ask("concat('pass ', $.n)", "$.l"),
      },
      {
        kind: "try",
        body: { kind: "step", ref: "ghost", in: "'x'", out: "$.g" },
        err_at: "$.err",
        catch: ask("'caught'", "$.c"),
      },
      { kind: "step", ref: "last", in: "$.c", out: "$.b" },
    ],
  },
};

Deno.test("SIGKILL at asks inside fanout, loop and try-catch: each is replayed once and the run resumes", async () => {
  await using kvFile = await tempKv();
  let server: ChildServer = await spawnServer(kvFile.path);
  try {
    const minted = await call(server, "POST", "/v1/operators", { roles: ["rev"] });
    assert.equal(minted.status, 200);
    const { sid, token } = minted.body as { sid: string; token: string };
    const connect = (s: ChildServer) =>
      openSocket(`${s.wsBase}/v1/operators/${sid}/ws`, {
        token,
        signal: AbortSignal.timeout(10_000),
      });
    let ws = await connect(server);
    const started = await call(server, "POST", "/v1/runs", {
      blueprint: { kind: "inline", value: NESTED },
      init_ctx: { goal: "g" },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const runId = started.body!.run_id as string;

    const answers: Record<string, unknown> = {
      "branch one": "A1",
      "pass 0": "L0",
      "pass 1": "L1",
      "caught": "C",
    };
    for (const question of ["branch one", "pass 0", "pass 1", "caught"]) {
      const sent = await nextAsk(ws);
      assert.equal(sent.question, question);
      // The ask is durable once it is in the run's events (what a restart reads back).
      for (let i = 0; i < 200; i++) {
        const run = await call(server, "GET", `/v1/runs/${runId}`);
        const requests = (run.body!.requests ?? []) as Array<{ req_id: string; state: string }>;
        if (requests.some((r) => r.req_id === sent.req_id && r.state === "pending")) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 200)); // past the store's batch commit
      await server.kill("SIGKILL");
      server = await spawnServer(kvFile.path);
      const waiting = await call(server, "GET", `/v1/runs/${runId}`);
      assert.equal(waiting.body!.status, "running", `after the kill at "${question}"`);
      ws = await connect(server);
      const replayed = await nextAsk(ws);
      assert.deepEqual(replayed, sent, `the ask "${question}" is replayed unchanged`);
      ws.send({ type: "answer", req_id: sent.req_id, value: answers[question] });
    }

    const events = await readEvents(server, runId);
    assert.equal(events.at(-1)?.event, "run_ended");
    const run = await call(server, "GET", `/v1/runs/${runId}`);
    assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
    const echo = (agent: string, echoed: string) => ({ by: "baseline-identity", agent, echoed });
    assert.deepEqual(run.body!.final_ctx, {
      goal: "g",
      a: echo("first", "g"),
      fan: [
        { goal: "g", a: echo("first", "g"), i: 1, ans: "A1" },
        { goal: "g", a: echo("first", "g"), i: 2, r: echo("side", "2") },
      ],
      n: 2,
      l: "L1",
      err: "dispatcher error for ref 'ghost': dispatch failed: worker not registered: ghost",
      c: "C",
      b: echo("last", "C"),
    });
    // No in-process step ran twice across the four restarts; each ask was settled once.
    const steps = run.body!.steps as Array<{ agent: string; attempt: number; verdict: string }>;
    assert.deepEqual(
      steps.map((s) => `${s.agent}:${s.attempt}:${s.verdict}`).sort(),
      ["first:1:pass", "ghost:1:failed", "last:1:pass", "side:1:pass"],
    );
    const settled = events.filter((e) => e.event === "operator_request_settled");
    assert.equal(settled.length, 4);
    assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1), "ids without gaps");
    await ws.close();
  } finally {
    await server.kill("SIGKILL");
  }
});

Deno.test("a run's TTL is a wall-clock deadline across a restart: it passes while the server is down", async () => {
  await using kvFile = await tempKv();
  let server: ChildServer = await spawnServer(kvFile.path);
  try {
    const minted = await call(server, "POST", "/v1/operators", { roles: ["rev"] });
    const { sid, token } = minted.body as { sid: string; token: string };
    const started = await call(server, "POST", "/v1/runs", {
      blueprint: { kind: "inline", value: { id: "ttl-down", flow: ask("'still there?'", "$.a") } },
      init_ctx: {},
      ttl_secs: 3,
    });
    assert.equal(started.status, 202);
    const runId = started.body!.run_id as string;
    const ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
    await nextAsk(ws);
    await new Promise((r) => setTimeout(r, 200));
    await server.kill("SIGKILL");
    await ws.closed;
    await new Promise((r) => setTimeout(r, 3_200)); // the deadline passes while down
    server = await spawnServer(kvFile.path);
    let run = await call(server, "GET", `/v1/runs/${runId}`);
    for (let i = 0; i < 100 && run.body!.status === "running"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      run = await call(server, "GET", `/v1/runs/${runId}`);
    }
    assert.equal(run.body!.status, "failed", JSON.stringify(run.body));
    assert.match(String(run.body!.error), /^ttl expired/);
    assert.equal(run.body!.effective_ttl_secs, 3);
  } finally {
    await server.kill("SIGKILL");
  }
});

Deno.test("five asks pending in fanout branches and one of a later run: replayed in the order first sent, each answer lands in its branch", async () => {
  await using kvFile = await tempKv();
  let server: ChildServer = await spawnServer(kvFile.path);
  try {
    const { sid, token } = (await call(server, "POST", "/v1/operators", { roles: ["rev"] }))
      .body as { sid: string; token: string };
    let ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
    const started = await call(server, "POST", "/v1/runs", {
      blueprint: {
        kind: "inline",
        value: {
          id: "five-asks",
          flow: {
            kind: "fanout",
            items: "[1, 2, 3, 4, 5]",
            bind: "$.i",
            join: "all",
            out: "$.o",
            body: ask("concat('q', $.i)", "$.a"),
          },
        },
      },
      init_ctx: {},
    });
    const runId = started.body!.run_id as string;
    const first: AskFrame[] = [];
    for (let i = 0; i < 5; i++) first.push(await nextAsk(ws));
    // sent in the same millisecond or so: the store keeps no order among them but this one
    assert.deepEqual(first.map((f) => f.question), ["q1", "q2", "q3", "q4", "q5"]);
    // a later run's ask to the same seat comes after them
    await new Promise((r) => setTimeout(r, 5));
    const later = await call(server, "POST", "/v1/runs", {
      blueprint: { kind: "inline", value: { id: "later", flow: ask("'r2'", "$.a") } },
      init_ctx: {},
    });
    first.push(await nextAsk(ws));
    assert.equal(first[5].question, "r2");
    await new Promise((r) => setTimeout(r, 200));
    await server.kill("SIGKILL");
    server = await spawnServer(kvFile.path);
    ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
    const replayed: AskFrame[] = [];
    for (let i = 0; i < 6; i++) replayed.push(await nextAsk(ws));
    assert.deepEqual(replayed, first, "replayed unchanged, in the order first sent (SPEC §4)");
    const pending = await call(server, "GET", `/v1/operators/${sid}/pending`, undefined, {
      authorization: `Bearer ${token}`,
    });
    assert.deepEqual(pending.body!.pending, first, "/pending lists them in the order sent");
    for (const f of first.slice(0, 5).reverse()) {
      ws.send({ type: "answer", req_id: f.req_id, value: `A${String(f.question).slice(1)}` });
    }
    const events = await readEvents(server, runId);
    assert.equal(events.at(-1)?.event, "run_ended");
    const run = await call(server, "GET", `/v1/runs/${runId}`);
    assert.equal(run.body!.status, "succeeded", JSON.stringify(run.body));
    assert.deepEqual(run.body!.final_ctx, {
      o: [1, 2, 3, 4, 5].map((i) => ({ i, a: `A${i}` })),
    });
    ws.send({ type: "answer", req_id: first[5].req_id, value: "R2" });
    await readEvents(server, later.body!.run_id as string);
    const other = await call(server, "GET", `/v1/runs/${later.body!.run_id}`);
    assert.deepEqual(other.body!.final_ctx, { a: "R2" });
    await ws.close();
  } finally {
    await server.kill("SIGKILL");
  }
});
