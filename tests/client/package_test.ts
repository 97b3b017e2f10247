/**
 * client/ is a package: it has its own deno.json, `deno publish --dry-run`
 * accepts it, and a script outside this repo imports it by path with
 * `--no-config` (no import map), type-checks, and runs against a live server.
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";

const ROOT = new URL("../../", import.meta.url);
const CLIENT = new URL("client/", ROOT);

async function run(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(120_000),
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("client/deno.json names the package, and deno publish --dry-run accepts it", async () => {
  const pkg = JSON.parse(await Deno.readTextFile(new URL("deno.json", CLIENT)));
  const root = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assert.equal(pkg.name, "@switchboard/client");
  assert.equal(pkg.version, root.version, "the client and the server share a version");
  assert.equal(pkg.exports["."], "./mod.ts");
  const zod = await Deno.readTextFile(new URL("protocol/zod.ts", ROOT));
  assert.ok(zod.includes(`"${root.imports.zod}"`), "protocol/zod.ts pins the import map's zod");
  for await (const file of Deno.readDir(new URL("protocol/", ROOT))) {
    if (!file.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(`protocol/${file.name}`, ROOT));
    assert.doesNotMatch(text, /from "zod"/, `protocol/${file.name} imports zod via ./zod.ts`);
  }
  const out = await run(["publish", "--dry-run", "--allow-dirty"], CLIENT.pathname);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr + out.stdout, /Success.*Dry run complete/);
});

const SCRIPT = (mod: string) =>
  `import {
  type Blueprint,
  createRestClient,
  defineBlueprint,
  type FlowNode,
  isSwitchboardError,
} from "${mod}";

const api = createRestClient({ url: Deno.args[0] });
const greet = defineBlueprint({
  id: "greet",
  agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
  flow: { kind: "step", ref: "echo", in: "$.name", out: "$.greeting" },
});
// @ts-expect-error: a wrong kind is caught by the package's types
const wrong: FlowNode = { kind: "stepp", ref: "echo", in: "$", out: "$.r" };
// @ts-expect-error: so is a missing field
const partial: Blueprint = { id: "x", flow: { kind: "step", ref: "echo", in: "$" } };

const seat = await api.mintSeat({ body: { roles: ["package-test"] } });
const registered = await api.registerBlueprint({ params: { id: greet.id }, body: greet });
const task = await api.runTask({
  body: { blueprint: { kind: "id", id: greet.id }, init_ctx: { name: "Ada" } },
});
const { run_id } = await api.startRun({
  body: { blueprint: { kind: "inline", value: greet }, init_ctx: { name: "Bo" } },
});
const run = await api.getRun({ params: { id: run_id } });
const runs = await api.listRuns({ query: { limit: 5 } });
let code: unknown;
try {
  await api.getRun({ params: { id: "run-nope" } });
} catch (err) {
  if (isSwitchboardError(err)) code = err.extra?.code;
}
console.log(JSON.stringify({
  sid: seat.sid,
  version: registered.version,
  bound: task.bound_version,
  greeting: task.final_ctx,
  run: run.run_id === run_id,
  listed: runs.runs.some((r) => r.run_id === run_id),
  code,
  unused: [wrong, partial].length,
}));
`;

Deno.test("a script outside the repo imports client/mod.ts by path with --no-config and runs it", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "switchboard-sdk-" });
  try {
    await Deno.writeTextFile(`${dir}/script.ts`, SCRIPT(new URL("mod.ts", CLIENT).href));
    const checked = await run(["check", "--no-config", "script.ts"], dir);
    assert.equal(checked.code, 0, checked.stderr);
    const ran = await run(["run", "--no-config", "--allow-net", "script.ts", server.base], dir);
    assert.equal(ran.code, 0, ran.stderr);
    const result = JSON.parse(ran.stdout.trim().split("\n").at(-1)!);
    assert.match(result.sid, /^op-/);
    assert.match(result.version, /^[0-9a-f]{64}$/);
    assert.equal(result.bound, result.version);
    assert.equal(result.greeting.name, "Ada");
    assert.equal(result.run, true);
    assert.equal(result.listed, true);
    assert.equal(result.code, "run_not_found");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the README's client script runs from outside the repo with --no-config", async () => {
  await using server = await startServer();
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const block = /```ts\n(\/\/ ~\/my-app\/hello\.ts[^\n]*\n[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "the README shows the script");
  const dir = await Deno.makeTempDir({ prefix: "switchboard-readme-" });
  try {
    const script = block.replace("../switchboard/client/mod.ts", new URL("mod.ts", CLIENT).href);
    await Deno.writeTextFile(`${dir}/hello.ts`, script);
    const checked = await run(["check", "--no-config", "hello.ts"], dir);
    assert.equal(checked.code, 0, checked.stderr);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-net", "--allow-env", "hello.ts"],
      cwd: dir,
      env: { NO_COLOR: "1", SWITCHBOARD_URL: server.base },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /name: "Ada"/);
    assert.match(stdout, /404 run_not_found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
