import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";

async function consoleApp() {
  return createApp(await createDeps());
}

Deno.test("GET /console serves the page with a strict CSP and every asset it links", async () => {
  const app = await consoleApp();
  const res = await app.request("/console");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const html = await res.text();
  assert.match(html, /<title>Switchboard console<\/title>/);

  const linked = [...html.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(
    [...new Set(linked)].sort(),
    ["/console/app.js", "/console/console.css", "/console/favicon.svg"],
  );
  const types: Record<string, string> = {
    js: "text/javascript; charset=utf-8",
    css: "text/css; charset=utf-8",
    svg: "image/svg+xml",
  };
  for (const path of new Set(linked)) {
    const asset = await app.request(path);
    assert.equal(asset.status, 200, path);
    assert.equal(asset.headers.get("content-type"), types[path.split(".").pop()!], path);
    assert.ok((await asset.text()).length > 0, path);
  }
});

Deno.test("GET /console/app.js serves every module the page imports", async () => {
  const app = await consoleApp();
  const seen = new Set<string>();
  const queue = ["app.js"];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const res = await app.request(`/console/${name}`);
    assert.equal(res.status, 200, name);
    assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8", name);
    const source = await res.text();
    for (const m of source.matchAll(/from "\.\/([a-z_]+\.js)"/g)) queue.push(m[1]);
  }
  assert.ok(seen.size >= 5, [...seen].join(", "));
});

Deno.test("GET /console answers 304 to a matching If-None-Match", async () => {
  const app = await consoleApp();
  const first = await app.request("/console/console.css");
  const etag = first.headers.get("etag");
  await first.body?.cancel();
  assert.ok(etag);
  const again = await app.request("/console/console.css", { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  assert.equal(again.headers.get("cache-control"), "no-cache");
});

Deno.test("GET /console/<unknown or unsafe name> answers 404 JSON", async () => {
  const app = await consoleApp();
  for (const path of ["/console/nope.js", "/console/..%2Fdeno.json", "/console/app.ts"]) {
    const res = await app.request(path);
    assert.equal(res.status, 404, path);
    assert.equal(typeof (await res.json()).error, "string", path);
  }
  const slash = await app.request("/console/");
  assert.equal(slash.status, 301);
  assert.equal(slash.headers.get("location"), "/console");
});
