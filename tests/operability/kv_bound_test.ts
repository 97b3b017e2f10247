/**
 * The KV file's byte bound (`SWITCHBOARD_KV_MAX_MB`), on a server started as
 * `deno task start` starts it: past 90% the oldest ended runs are deleted, and
 * past the bound new runs answer 507 until the deletions make room.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnServer } from "./_child_server.ts";

const BIG = "x".repeat(400_000);

const identity = {
  id: "kv-bound",
  agents: [{ name: "a", kind: "rust_fn", spec: { fn_id: "identity" } }],
  flow: { kind: "step", ref: "a", in: "$.blob", out: "$.copy" },
};

const waiting = (role: string) => ({
  id: "kv-bound-wait",
  operators: [{ name: role }],
  agents: [{ name: "impl", kind: "operator", spec: { operator_ref: role } }],
  flow: { kind: "step", ref: "impl", in: "$.blob", out: "$.r" },
});

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Polls `probe` every 200 ms until it returns a value, for at most `ms`. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

Deno.test("a KV file past 90% of its bound loses its oldest ended runs first; the newest stay", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await spawnServer({
      SWITCHBOARD_KV: `${dir}/bound.kv`,
      SWITCHBOARD_KV_MAX_MB: "4",
      SWITCHBOARD_KV_CHECK_SECS: "1",
    });
    const ids: string[] = [];
    const blob = "x".repeat(40_000);
    // each run holds ~0.1-0.2 MB (its input, its copy, the step's records): 60 are past the bound
    for (let i = 0; i < 60; i++) {
      // a 507 until the next check has deleted enough: a client tries again
      const res = await until(`run ${i} done`, 10_000, async () => {
        const res = await call(server.base, "POST", "/v1/tasks", {
          blueprint: { kind: "inline", value: identity },
          init_ctx: { blob, i },
        });
        if (res.status === 507) return undefined;
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res;
      });
      assert.equal(res.body.final_ctx.copy?.echoed, blob);
      const list = await call(server.base, "GET", "/v1/runs?limit=1");
      ids.push(list.body.runs[0].run_id);
    }
    await until("the oldest run deleted", 15_000, async () => {
      const first = await call(server.base, "GET", `/v1/runs/${ids[0]}`);
      return first.status === 404 ? true : undefined;
    });
    // deleted a few at a time until under 90%: the newest runs stay
    for (const id of ids.slice(-5)) {
      assert.equal((await call(server.base, "GET", `/v1/runs/${id}`)).status, 200, id);
    }
    const doctor = await call(server.base, "GET", "/v1/doctor");
    const usage = doctor.body.store.usage;
    assert.equal(usage.max_bytes, 4 * 1024 * 1024);
    assert.ok(usage.used_bytes > 0 && usage.file_bytes >= usage.used_bytes, JSON.stringify(usage));
    const metrics = await (await fetch(`${server.base}/v1/metrics`)).text();
    assert.match(metrics, /switchboard_kv_file_bytes\{kind="max"\} 4194304/);
    const { stderr } = await server.stop();
    assert.match(stderr, /KV file near its bound: oldest ended runs deleted/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("past its bound the KV file refuses new runs with 507 until ended runs make room", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await spawnServer({
      SWITCHBOARD_KV: `${dir}/full.kv`,
      SWITCHBOARD_KV_MAX_MB: "3",
      SWITCHBOARD_KV_CHECK_SECS: "1",
    });
    const seat = await call(server.base, "POST", "/v1/operators", { roles: ["filler"] });
    assert.equal(seat.status, 200);
    // runs waiting on an operator are never deleted: they fill the file
    const running: string[] = [];
    const refused = await until("a 507", 30_000, async () => {
      const res = await call(server.base, "POST", "/v1/runs", {
        blueprint: { kind: "inline", value: waiting("filler") },
        init_ctx: { blob: BIG },
      });
      if (res.status === 202) {
        running.push(res.body.run_id);
        return undefined;
      }
      return res;
    });
    assert.equal(refused.status, 507, JSON.stringify(refused.body));
    assert.equal(refused.body.code, "storage_full");
    assert.match(refused.body.error, /^storage full: the KV file uses \d+ MiB of its 3 MiB bound/);
    const task = await call(server.base, "POST", "/v1/tasks", {
      blueprint: { kind: "inline", value: identity },
      init_ctx: { blob: "small" },
    });
    assert.equal(task.status, 507, "/v1/tasks too");
    const rerun = await call(server.base, "POST", `/v1/runs/${running[0]}/rerun`);
    assert.equal(rerun.status, 507, "a rerun too");
    assert.ok(running.length >= 3, `${running.length} runs filled it`);
    // the runs end: they can be deleted now, and the file takes runs again
    for (const id of running) {
      assert.equal((await call(server.base, "DELETE", `/v1/runs/${id}`)).status, 200);
    }
    await until("a run accepted again", 20_000, async () => {
      const res = await call(server.base, "POST", "/v1/tasks", {
        blueprint: { kind: "inline", value: identity },
        init_ctx: { blob: "small" },
      });
      return res.status === 200 ? true : undefined;
    });
    const { stderr } = await server.stop();
    assert.match(stderr, /KV file over its bound: new runs are refused/);
    assert.match(stderr, /KV file back under its bound/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
