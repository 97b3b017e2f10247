/**
 * `GET /docs`: a browsable page whose every asset comes from this server.
 */
import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";

async function appOf() {
  return createApp(await createDeps());
}

Deno.test("GET /docs serves an HTML page that loads only assets of this server", async () => {
  const app = await appOf();
  const res = await app.request("/docs");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  const html = await res.text();
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(urls.length >= 3, html);
  for (const url of urls) {
    assert.doesNotMatch(url, /^[a-z]+:|^\/\//i, `${url} is local`);
    const asset = await app.request(new URL(url, "http://localhost/docs").pathname);
    assert.equal(asset.status, 200, url);
    const body = new Uint8Array(await asset.arrayBuffer());
    assert.ok(body.length > 0, url);
  }
  assert.ok(urls.includes("docs/assets/swagger-ui-bundle.js"));
});

Deno.test("GET /docs/assets serves the Swagger UI bundle with its content type", async () => {
  const app = await appOf();
  const js = await app.request("/docs/assets/swagger-ui-bundle.js");
  assert.equal(js.status, 200);
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.match(await js.text(), /SwaggerUIBundle/);
  const css = await app.request("/docs/assets/swagger-ui.css");
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  await css.body?.cancel();
  const init = await app.request("/docs/assets/init.js");
  assert.match(await init.text(), /url: "v1\/openapi\.json"/);
});

Deno.test("GET /docs/assets answers 404 JSON for names outside its list", async () => {
  const app = await appOf();
  for (const name of ["index.html", "package.json", "..%2Fdeno.json", "swagger-ui.js.map"]) {
    const res = await app.request(`/docs/assets/${name}`);
    assert.equal(res.status, 404, name);
    assert.equal(typeof (await res.json()).error, "string");
  }
});

Deno.test("GET /docs/ redirects to /docs, whose relative asset URLs resolve", async () => {
  const app = await appOf();
  const res = await app.request("/docs/");
  assert.equal(res.status, 301);
  const location = res.headers.get("location") ?? "";
  assert.equal(new URL(location, "http://localhost/docs/").pathname, "/docs");
});

Deno.test("GET /docs follows prefers-color-scheme with a local dark stylesheet", async () => {
  const app = await appOf();
  const html = await (await app.request("/docs")).text();
  assert.match(html, /<meta name="color-scheme" content="light dark">/);
  assert.match(html, /href="docs\/assets\/dark\.css"/);
  const css = await app.request("/docs/assets/dark.css");
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  assert.match(await css.text(), /@media \(prefers-color-scheme: dark\)/);
});
