/**
 * Subprocess agents (reference/engine.md §5.3, SPEC §9) on the server as a user
 * starts it: `deno task start:subprocess` with `SWITCHBOARD_ALLOW_SUBPROCESS=1`
 * runs them, and the child reaches the worker routes with the handle in its
 * environment; `deno task start` refuses the variable (no run permission); off,
 * a Blueprint using one fails to compile with a clear 400.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTask } from "../hostile/_task_start.ts";

/** The child: echoes its stdin and the prompt it fetches with its worker handle, as JSON. */
const CHILD = `
const stdin = await new Response(Deno.stdin.readable).text();
const env = Deno.env.toObject();
const res = await fetch(env.MSE_BASE_URL + "/v1/worker/prompt?task_id=" + env.MSE_TASK_ID, {
  headers: { authorization: "Bearer " + env.MSE_WORKER_HANDLE },
});
const payload = await res.json();
console.log(JSON.stringify({ stdin, status: res.status, prompt: payload.prompt, attempt: env.MSE_ATTEMPT }));
`;

const blueprint = (spec: Record<string, unknown>) => ({
  kind: "inline",
  value: {
    id: "cli",
    agents: [{ name: "cli", kind: "subprocess", spec }],
    flow: { kind: "step", ref: "cli", in: "'the directive'", out: "$.r" },
  },
});

async function task(base: string, spec: Record<string, unknown>) {
  const res = await fetch(`${base}/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ blueprint: blueprint(spec), init_ctx: {} }),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("deno task start:subprocess runs a subprocess agent that calls back with its worker handle", async () => {
  await using server = await startTask(
    ":memory:",
    { SWITCHBOARD_ALLOW_SUBPROCESS: "1" },
    "start:subprocess",
  );
  const base = await server.listening;
  const ran = await task(base, { program: Deno.execPath(), args: ["eval", CHILD] });
  assert.equal(ran.status, 200, JSON.stringify(ran.body));
  assert.deepEqual(ran.body.final_ctx.r, {
    stdin: "the directive",
    status: 200,
    prompt: "the directive",
    attempt: "1",
  });
  // a failing child fails the step, with its output
  const failed = await task(base, { program: "/bin/sh", args: ["-c", "echo no; exit 2"] });
  assert.equal(failed.status, 400);
  assert.match(failed.body.error, /blocked: \{"raw":"no","stderr":""\}/);
});

Deno.test("SWITCHBOARD_ALLOW_SUBPROCESS=1 under deno task start (no run permission) is a start error", async () => {
  await using server = await startTask(":memory:", { SWITCHBOARD_ALLOW_SUBPROCESS: "1" });
  assert.equal((await server.status).code, 1);
  assert.equal(
    server.stderr(),
    "switchboard: cannot start: SWITCHBOARD_ALLOW_SUBPROCESS=1 needs the run permission: " +
      "start with `deno task start:subprocess`\n",
  );
});

Deno.test("subprocess agents are off by default: a Blueprint using one fails to compile with 400", async () => {
  await using server = await startTask(":memory:");
  const base = await server.listening;
  const refused = await task(base, { program: "/bin/true" });
  assert.equal(refused.status, 400);
  assert.equal(
    refused.body.error,
    "run: launch: compile: unknown agent kind in SpawnerRegistry: Subprocess " +
      "(subprocess agents are off: SWITCHBOARD_ALLOW_SUBPROCESS=1 turns them on)",
  );
});

/** True while `pid` runs: gone, or a zombie waiting for init (`ps`: /proc/<pid> needs --allow-all). */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const state = new TextDecoder().decode(out.stdout).trim();
  return state !== "" && !state.startsWith("Z");
}

/** Starts a run whose child sleeps, stops the server with `sig`, and says whether the child outlived it. */
async function childOutlives(sig: Deno.Signal): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "sb-sub-" });
  try {
    const server = await startTask(
      `${dir}/sb.kv`,
      { SWITCHBOARD_ALLOW_SUBPROCESS: "1" },
      "start:subprocess",
    );
    await using _ = server;
    const base = await server.listening;
    const res = await fetch(`${base}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        blueprint: blueprint({
          program: "/bin/sh",
          args: ["-c", `echo $$ > ${dir}/pid; exec sleep 60`],
        }),
        init_ctx: {},
      }),
    });
    assert.equal(res.status, 202);
    await res.body?.cancel();
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      pid = Number(await Deno.readTextFile(`${dir}/pid`).catch(() => "0"));
      if (!pid) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(pid > 0, "the child started");
    assert.equal(await alive(pid), true);
    server.signal(sig);
    await server.status;
    // SIGTERM: the exit hook; SIGKILL: the reaper, SIGTERM after its input closes
    for (let i = 0; i < 50 && await alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    const outlived = await alive(pid);
    if (outlived) Deno.kill(pid, "SIGKILL");
    return outlived;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a server that stops (SIGTERM) ends the children it runs", async () => {
  assert.equal(await childOutlives("SIGTERM"), false, "the child outlived the server");
});

Deno.test("a server killed with SIGKILL ends its children too, through its reaper", async () => {
  assert.equal(await childOutlives("SIGKILL"), false, "the child outlived the server");
});
