/**
 * The first start prints no `deno approve-scripts` warning box: every npm
 * package in the tree that declares a lifecycle script is listed in
 * `allowScripts` of deno.json (today only `@scarf/scarf`, swagger-ui-dist's
 * telemetry, which is denied).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const LIFECYCLE = ["preinstall", "install", "postinstall"];

Deno.test("every npm package with an install script is allowed or denied in deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const listed = new Set<string>(
    [...(config.allowScripts?.allow ?? []), ...(config.allowScripts?.deny ?? [])]
      .map((s: string) => s.replace(/^npm:/, "").replace(/(.)@.*$/, "$1")),
  );
  const store = new URL("node_modules/.deno/", ROOT);
  const withScripts: string[] = [];
  let packages = 0;
  for await (const dir of Deno.readDir(store)) {
    if (!dir.isDirectory || !dir.name.includes("@")) continue;
    const name = dir.name.replace(/@[^@]*$/, "").replace(/\+/g, "/");
    const manifest = new URL(`${dir.name}/node_modules/${name}/package.json`, store);
    let scripts: Record<string, string>;
    try {
      scripts = JSON.parse(await Deno.readTextFile(manifest)).scripts ?? {};
    } catch {
      continue; // a folder of another kind
    }
    packages++;
    if (LIFECYCLE.some((s) => s in scripts)) withScripts.push(name);
  }
  assert.ok(packages > 20, `read the installed packages (${packages})`);
  assert.ok(withScripts.includes("@scarf/scarf"), "the known one is found");
  assert.deepEqual(withScripts.filter((n) => !listed.has(n)), [], "not in allowScripts");
});
