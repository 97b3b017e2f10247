/**
 * `/docs` in headless Chromium: the reference renders every operation from
 * `/v1/openapi.json`, and the browser fetches nothing from another origin.
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { browserSetup, launch, screenshot, watchErrors } from "../console/_browser.ts";

const { executable, skip } = browserSetup();

Deno.test({
  name: "GET /docs renders every documented operation offline in a browser",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const doc = await (await fetch(`${server.base}/v1/openapi.json`)).json();
    let operations = 0;
    for (const item of Object.values(doc.paths) as Array<Record<string, unknown>>) {
      operations += Object.keys(item).length;
    }
    const browser = await launch(executable);
    try {
      const page = await browser.newPage();
      const errors = watchErrors(page);
      const foreign: string[] = [];
      page.on("request", (req) => {
        const url = req.url();
        if (!url.startsWith(server.base) && !url.startsWith("data:")) foreign.push(url);
      });
      await page.setViewport({ width: 1280, height: 900 });
      await page.goto(`${server.base}/docs`, { waitUntil: "networkidle0" });
      await page.waitForSelector(".opblock", { timeout: 15_000 });
      const rendered = await page.$$eval(".opblock", (els) => els.length);
      assert.equal(rendered, operations);
      const title = await page.$eval(".info .title", (el) => el.textContent ?? "");
      assert.match(title, /Switchboard/);
      await screenshot(page, "docs-desktop");
      assert.deepEqual(foreign, [], "requests to other origins");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "GET /docs turns dark under prefers-color-scheme: dark, and /docs/ lands on it",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const browser = await launch(executable);
    try {
      const page = await browser.newPage();
      const errors = watchErrors(page);
      // A string, so it runs in the page (the test itself has no DOM types).
      const bodyFilter = () => page.evaluate("getComputedStyle(document.body).filter");
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
      await page.goto(`${server.base}/docs/`, { waitUntil: "networkidle0" });
      assert.equal(new URL(page.url()).pathname, "/docs");
      await page.waitForSelector(".info .title", { timeout: 15_000 });
      assert.equal(await bodyFilter(), "none");
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
      assert.match(String(await bodyFilter()), /invert/);
      await screenshot(page, "docs-dark");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
