/**
 * The OpenAPI document through the tools people use on it: `@redocly/cli lint`
 * finds no errors, and openapi-typescript's output plus an openapi-fetch script
 * (mint a seat, run a task, start and read a run) passes `deno check` and runs
 * against a live server. The tools come from the npm registry through npx and
 * `npm:` specifiers, outside this repo's config (`--no-config`).
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { npxSkip, run } from "./_npx.ts";

const REDOCLY = "@redocly/cli@2.77.0";
const OPENAPI_TYPESCRIPT = "openapi-typescript@7.13.0";
const skip = npxSkip("OpenAPI tool tests");

/** Warnings we accept, by rule and pointer, and why. */
const ACCEPTED_WARNINGS = new Set([
  // The repository declares no license.
  "info-license #/info",
  // A WebSocket upgrade succeeds with 101, never a 2xx.
  "operation-2xx-response #/paths/~1v1~1operators~1{sid}~1ws/get/responses",
]);

async function documentIn(dir: string, base: string): Promise<string> {
  const res = await fetch(`${base}/v1/openapi.json`);
  assert.equal(res.status, 200);
  const path = `${dir}/openapi.json`;
  await Deno.writeTextFile(path, await res.text());
  return path;
}

Deno.test({
  name: "@redocly/cli lint finds no errors in /v1/openapi.json",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "switchboard-redocly-" });
    try {
      await documentIn(dir, server.base);
      const out = await run("npx", ["--yes", REDOCLY, "lint", "openapi.json", "--format=json"], {
        cwd: dir,
      });
      const report = JSON.parse(out.stdout.slice(out.stdout.indexOf("{")));
      const problems = (report.problems as Array<Record<string, unknown>>).map((p) => {
        const at = (p.location as Array<{ pointer: string }>)[0]?.pointer;
        return { key: `${p.ruleId} ${at}`, severity: p.severity, message: p.message };
      });
      assert.equal(report.totals.errors, 0, JSON.stringify(problems, null, 1));
      const unexpected = problems.filter((p) => !ACCEPTED_WARNINGS.has(p.key));
      assert.deepEqual(unexpected, [], "warnings beyond the accepted ones");
      assert.equal(out.code, 0, out.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** An openapi-fetch client typed by openapi-typescript's output of our document. */
const SCRIPT = `import createClient from "npm:openapi-fetch@0.17.0";
import type { paths } from "./schema.ts";

const client = createClient<paths>({ baseUrl: Deno.args[0] });

const minted = await client.POST("/v1/operators", { body: { roles: [] } });
if (!minted.data) throw new Error(\`mint: \${JSON.stringify(minted.error)}\`);
const sid: string = minted.data.sid;

const task = await client.POST("/v1/tasks", {
  body: {
    blueprint: {
      kind: "inline",
      value: {
        id: "greet",
        agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
        flow: { kind: "step", ref: "echo", in: "$.name", out: "$.greeting" },
      },
    },
    init_ctx: { name: "Ada", tags: ["a", 1, null] },
  },
});
if (!task.data) throw new Error(\`task: \${JSON.stringify(task.error)}\`);

const started = await client.POST("/v1/runs", {
  body: { blueprint: { kind: "id", id: "main" }, init_ctx: { n: 1 } },
});
if (!started.data) throw new Error(\`run: \${JSON.stringify(started.error)}\`);
const run = await client.GET("/v1/runs/{id}", { params: { path: { id: started.data.run_id } } });
if (!run.data) throw new Error(\`read: \${JSON.stringify(run.error)}\`);

const missing = await client.GET("/v1/runs/{id}", { params: { path: { id: "run-nope" } } });
const code: string | undefined = missing.error?.code;

console.log(JSON.stringify({
  sid,
  final_ctx: task.data.final_ctx,
  run_id: run.data.run_id,
  same_run: run.data.run_id === started.data.run_id,
  code,
}));
`;

Deno.test({
  name:
    "openapi-typescript output and an openapi-fetch script type-check and run against a live server",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "switchboard-codegen-" });
    try {
      await documentIn(dir, server.base);
      const gen = await run(
        "npx",
        ["--yes", OPENAPI_TYPESCRIPT, "openapi.json", "-o", "schema.ts"],
        {
          cwd: dir,
        },
      );
      assert.equal(gen.code, 0, gen.stderr);
      await Deno.writeTextFile(`${dir}/script.ts`, SCRIPT);
      const deno = Deno.execPath();
      const checked = await run(deno, ["check", "--no-config", "schema.ts", "script.ts"], {
        cwd: dir,
      });
      assert.equal(checked.code, 0, checked.stderr);
      const ran = await run(deno, ["run", "--no-config", "--allow-net", "script.ts", server.base], {
        cwd: dir,
      });
      assert.equal(ran.code, 0, ran.stderr);
      const result = JSON.parse(ran.stdout.trim().split("\n").at(-1)!);
      assert.match(result.sid, /^op-/);
      assert.deepEqual(result.final_ctx, {
        name: "Ada",
        tags: ["a", 1, null],
        greeting: { agent: "echo", by: "baseline-identity", echoed: "Ada" },
      });
      assert.equal(result.same_run, true);
      assert.equal(result.code, "run_not_found");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
