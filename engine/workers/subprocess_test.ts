import assert from "node:assert/strict";
import type { AgentDefNorm } from "../../protocol/blueprint.ts";
import type { OutputEvent } from "../../protocol/worker.ts";
import type { AttemptContext } from "../spawner.ts";
import { SUBPROCESS_LIMITS, subprocessSpec, subprocessWorker } from "./subprocess.ts";

/** A `/bin/sh -c script` agent with `extra` spec keys. */
function shAgent(script: string, extra: Record<string, unknown> = {}): AgentDefNorm {
  return {
    name: "cli",
    kind: "subprocess",
    spec: { program: "/bin/sh", args: ["-c", script], ...extra },
  } as AgentDefNorm;
}

/** Runs one attempt of `agent` with `prompt`; resolves with its tail, or rejects as the worker. */
async function run(
  agent: AgentDefNorm,
  prompt = "hello",
  signal = new AbortController().signal,
): Promise<OutputEvent[]> {
  const spec = subprocessSpec(agent);
  if (typeof spec === "string") throw new Error(spec);
  const tail: OutputEvent[] = [];
  const a = {
    ctx: { runId: "run-1", taskId: "T-1", attempt: 2, agent: "cli", runtime: {} },
    attempt: { n: 2, prompt, tail, started_at: 0 },
    grant: { capabilityToken: "cap.tok", workerHandle: "wh-abc123" },
    token: { agent_id: "worker-of-T-1", nonce: "n-1" },
    signal,
    append: (event: OutputEvent) => tail.push(event),
  } as unknown as AttemptContext;
  const started = await subprocessWorker(spec, "http://127.0.0.1:9")(a);
  await started.done;
  return tail;
}

const final = (tail: OutputEvent[]) => tail.findLast((e) => e.type === "final");

Deno.test("plain mode: JSON stdout is the value, other text is {raw, stderr}, ok is the exit status", async () => {
  assert.deepEqual(final(await run(shAgent(`read x; echo "{\\"got\\": \\"$x\\"}"`))), {
    type: "final",
    content: { kind: "inline", value: { got: "hello" } },
    ok: true,
  });
  assert.deepEqual(final(await run(shAgent("echo plain words; echo oops >&2; exit 3"))), {
    type: "final",
    content: { kind: "inline", value: { raw: "plain words", stderr: "oops\n" } },
    ok: false,
  });
  // use_stdin: false puts the prompt last among the arguments
  const args = shAgent('echo "[\\"$0\\", \\"$1\\"]"', { args: ["-c", 'echo "[\\"$1\\"]"', "sh"] });
  assert.deepEqual(
    final(await run({ ...args, spec: { ...args.spec as object, use_stdin: false } }, "as-arg")),
    { type: "final", content: { kind: "inline", value: ["as-arg"] }, ok: true },
  );
});

Deno.test("the child gets the attempt's MSE_* variables and none of the server's environment", async () => {
  Deno.env.set("SWITCHBOARD_SECRET_FOR_TEST", "must-not-leak");
  try {
    const tail = await run(shAgent("env"));
    const content = final(tail)!.content;
    assert.equal(content.kind, "inline");
    const raw = String((content.value as { raw: string }).raw);
    const env = Object.fromEntries(raw.split("\n").map((l) => l.split(/=(.*)/s, 2)));
    assert.equal(env.MSE_TASK_ID, "T-1");
    assert.equal(env.MSE_ATTEMPT, "2");
    assert.equal(env.MSE_CTX_AGENT, "cli");
    assert.equal(env.MSE_TOKEN_AGENT_ID, "worker-of-T-1");
    assert.equal(env.MSE_TOKEN_NONCE, "n-1");
    assert.equal(env.MSE_WORKER_HANDLE, "wh-abc123");
    assert.equal(env.MSE_CAPABILITY_TOKEN, "cap.tok");
    assert.equal(env.MSE_BASE_URL, "http://127.0.0.1:9");
    assert.equal(env.SWITCHBOARD_SECRET_FOR_TEST, undefined);
  } finally {
    Deno.env.delete("SWITCHBOARD_SECRET_FOR_TEST");
  }
});

Deno.test("ndjson_lines: events append as they come, junk is skipped, no final gets a failing one", async () => {
  const events = [
    '{"type":"progress","stage":"reading"}',
    "not json",
    '{"type":"nope"}',
    '{"type":"final","content":{"kind":"inline","value":42},"ok":true}',
  ].map((l) => `echo '${l}'`).join("; ");
  const tail = await run(shAgent(events, { stream_mode: "ndjson_lines" }));
  assert.deepEqual(tail.map((e) => e.type), ["progress", "final"]);
  assert.deepEqual(final(tail), {
    type: "final",
    content: { kind: "inline", value: 42 },
    ok: true,
  });

  const none = await run(shAgent('echo \'{"type":"progress","stage":"x"}\'', {
    stream_mode: "ndjson_lines",
  }));
  assert.deepEqual(final(none), {
    type: "final",
    content: {
      kind: "inline",
      value: { raw: "", note: "streaming mode: no Final event received", exit_success: true },
    },
    ok: false,
  });
});

Deno.test("streaming modes: a non-zero exit fails the attempt, with stderr (0.1.2 ignored it)", async () => {
  const script = `echo '{"type":"final","content":{"kind":"inline","value":1},"ok":true}'; ` +
    "echo broken >&2; exit 4";
  await assert.rejects(
    run(shAgent(script, { stream_mode: "ndjson_lines" })),
    /subprocess exited with code 4: broken/,
  );
});

Deno.test("sse_events and length_prefixed frames", async () => {
  const sse = 'printf \'event: x\\ndata: {"type":"final",\\ndata: "content":{"kind":"inline",' +
    '"value":"s"},"ok":true}\\n\\n\'';
  assert.deepEqual(final(await run(shAgent(sse, { stream_mode: "sse_events" }))), {
    type: "final",
    content: { kind: "inline", value: "s" },
    ok: true,
  });
  const body = '{"type":"final","content":{"kind":"inline","value":"lp"},"ok":true}';
  // the 4-byte big-endian length as octal escapes (dash's printf has no \x)
  const length = [24, 16, 8, 0].map((shift) => `\\${((body.length >> shift) & 255).toString(8)}`);
  const lp = `printf '${length.join("")}'; printf '%s' '${body}'`;
  assert.deepEqual(final(await run(shAgent(lp, { stream_mode: "length_prefixed" }))), {
    type: "final",
    content: { kind: "inline", value: "lp" },
    ok: true,
  });
});

Deno.test("the run's end kills the child; spec.timeout_secs and the output bound stop it", async () => {
  const controller = new AbortController();
  const started = Date.now();
  const pending = run(shAgent("sleep 30"), "x", controller.signal);
  setTimeout(() => controller.abort(new Error("run cancelled")), 200);
  await assert.rejects(pending, /run cancelled/);
  assert.ok(Date.now() - started < 5_000, "the sleeping child was killed");

  await assert.rejects(
    run(shAgent("sleep 30", { timeout_secs: 0.3 })),
    /subprocess timed out after 0.3 s/,
  );
  await assert.rejects(
    run(shAgent("yes 0123456789012345678901234567890123456789")),
    new RegExp(`subprocess stopped: stdout over ${SUBPROCESS_LIMITS.stdoutBytes} bytes`),
  );
  // what the child left running (holding its stdout) goes soon after it exits
  const t0 = Date.now();
  assert.deepEqual(final(await run(shAgent("sleep 30 & echo 7"))), {
    type: "final",
    content: { kind: "inline", value: 7 },
    ok: true,
  });
  assert.ok(Date.now() - t0 < 5_000, "the background job did not hold the attempt");
  // a child that ignores SIGTERM gets SIGKILL after the grace
  await assert.rejects(
    run(shAgent("trap '' TERM; sleep 30", { timeout_secs: 0.2 })),
    /timed out/,
  );
});

Deno.test("a program that does not exist fails to spawn; a bad spec is named", async () => {
  const missing = {
    name: "cli",
    kind: "subprocess",
    spec: { program: "/no/such/program" },
  } as AgentDefNorm;
  await assert.rejects(run(missing), /subprocess spawn failed/);
  assert.equal(subprocessSpec({ ...missing, spec: {} }), "shell spec: 'program' (string) required");
  assert.equal(
    subprocessSpec({ ...missing, spec: { program: "x", args: [1] } }),
    "shell spec: 'args' must be a list of strings",
  );
  assert.equal(
    subprocessSpec({ ...missing, spec: { program: "x", stream_mode: "zz" } }),
    "unknown stream_mode: zz",
  );
});
