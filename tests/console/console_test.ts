import assert from "node:assert/strict";
import { createApp } from "../../app.ts";
import { createDeps } from "../../deps.ts";
import { consoleRoutes } from "../../routes/console.ts";
import { startServer } from "../_helpers.ts";
import { operatorAgentBlueprint, runEnded, startRun } from "../engine/_loop.ts";
import { browserSetup, launch, screenshot, watchErrors } from "./_browser.ts";

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

Deno.test("consoleRoutes reads each file once and serves it from memory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html><title>one</title>");
    const routes = consoleRoutes({ root: new URL(`file://${dir}/`) });
    const first = await routes.request("/console");
    assert.equal(await first.text(), "<!doctype html><title>one</title>");
    await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html><title>two</title>");
    await Deno.remove(`${dir}/index.html`);
    const again = await routes.request("/console");
    assert.equal(await again.text(), "<!doctype html><title>one</title>");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// In headless Chromium

const { executable, skip } = browserSetup();
const TIMEOUT = { timeout: 15_000 };

/** An inline Blueprint whose one step reports ok=false, so the senior bridge asks. */
function askingBlueprint() {
  return {
    id: "ask-me",
    agents: [{ name: "check", kind: "rust_fn", spec: { fn_id: "nope" } }],
    flow: { kind: "step", ref: "check", in: "'ship it?'", out: "$.r" },
    spawner_hints: { layers: ["senior_escalation"] },
  };
}

function askingRun(sid: string) {
  return {
    blueprint: { kind: "inline", value: askingBlueprint() },
    init_ctx: { release: "1.2.3" },
    operator_sid: sid,
    operator: { senior_bridge_id: sid },
    ttl_secs: 60,
  };
}

/** A fresh page on the console at `width` px, showing the seat forms. */
async function openConsole(
  browser: Awaited<ReturnType<typeof launch>>,
  base: string,
  width: number,
) {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
  await page.setViewport({ width, height: 860 });
  await page.goto(`${base}/console`, { waitUntil: "load" });
  await page.waitForSelector("#mint-roles", TIMEOUT);
  return { page, errors };
}

const nope = () => Promise.resolve({ value: "NO", ok: false });

Deno.test({
  name: "console mints a seat, answers an ask typed in the page, and the run ends with it",
  ignore: skip,
  async fn() {
    await using server = await startServer({ functions: [["nope", nope]] });
    const browser = await launch(executable);
    try {
      const { page, errors } = await openConsole(browser, server.base, 1280);
      await screenshot(page, "console-desktop-unseated");

      await page.type("#mint-roles", "reviewer");
      await page.click("#mint-form button[type=submit]");
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      const sid = await page.$eval("#seat-sid", (el) => el.textContent ?? "");
      assert.match(sid, /^op-/);
      assert.equal(server.deps.sessions.get(sid)?.connected, true);
      assert.deepEqual(server.deps.sessions.get(sid)?.roles, ["reviewer"]);

      const runId = await startRun(server, askingRun(sid));
      await page.waitForSelector(".card-ask:not(.sent) textarea", TIMEOUT);
      // the question (JSON here) beside the request's context
      const question = await page.$$eval(
        ".card-ask:not(.sent) pre",
        (els) => els.map((el) => el.textContent ?? "").join("\n"),
      );
      assert.match(question, /worker reported ok=false/);

      // Invalid JSON is refused in the page and nothing is sent.
      await page.type(".card-ask:not(.sent) textarea", "{oops");
      await page.click(".card-ask:not(.sent) button[type=submit]");
      await page.waitForSelector(".card-ask:not(.sent) .field-error:not([hidden])", TIMEOUT);
      assert.equal(server.deps.sessions.get(sid)?.pendingCount, 1);
      await screenshot(page, "console-desktop-ask");

      await page.$eval(
        ".card-ask:not(.sent) textarea",
        (el) => ((el as unknown as { value: string }).value = ""),
      );
      await page.type(".card-ask:not(.sent) textarea", '{"approved": true, "note": "ship it"}');
      await page.click(".card-ask:not(.sent) button[type=submit]");

      const run = await runEnded(server, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, {
        release: "1.2.3",
        r: { original: "NO", senior_answer: { approved: true, note: "ship it" } },
      });
      await page.waitForFunction('document.querySelectorAll(".card").length === 0', TIMEOUT);

      // The run's live events (SSE) show in the page through to its end.
      await page.click("#runs-refresh");
      await page.waitForSelector(`[data-run-id="${runId}"]`, TIMEOUT);
      await page.click(`[data-run-id="${runId}"]`); // the list updates in place: no detached node
      await page.waitForSelector("#run-events .ev-run_ended", TIMEOUT);
      const types = await page.$$eval(
        "#run-events .ev-type",
        (els) => els.map((e) => e.textContent),
      );
      assert.ok(types.includes("operator request settled"), types.join(", "));
      await page.waitForSelector("#run-summary .status-succeeded", TIMEOUT);
      await page.waitForFunction(
        'document.getElementById("run-summary").textContent.includes("check #1: pass")',
        TIMEOUT,
      );
      await screenshot(page, "console-desktop-run");

      await page.setViewport({ width: 400, height: 860 });
      await screenshot(page, "console-narrow-run");
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.equal(overflow, 0, "no horizontal scrolling at 400px");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "console shows a dropped socket, reconnects by itself and shows replayed requests",
  ignore: skip,
  async fn() {
    await using server = await startServer({ functions: [["nope", nope]] });
    const browser = await launch(executable);
    try {
      const { page, errors } = await openConsole(browser, server.base, 400);
      await screenshot(page, "console-narrow-unseated");
      await page.click("#mint-form button[type=submit]");
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      const sid = await page.$eval("#seat-sid", (el) => el.textContent ?? "");
      const session = server.deps.sessions.get(sid)!;

      // The server drops the socket: the page says so, then comes back by itself.
      session.closeSocket(1012, "service restart");
      await page.waitForSelector('#conn[data-state="closed"]', TIMEOUT);
      const down = await page.$eval("#conn-text", (el) => el.textContent ?? "");
      assert.match(down, /Disconnected/);
      await screenshot(page, "console-narrow-disconnected");
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      assert.equal(await page.$eval("#conn-text", (el) => el.textContent), "Connected again");

      // A request made while the socket was gone is replayed on reconnect.
      session.closeSocket(1012, "service restart");
      await page.waitForSelector('#conn[data-state="closed"]', TIMEOUT);
      const runId = await startRun(server, askingRun(sid));
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      await page.waitForSelector(".card-ask:not(.sent) textarea", TIMEOUT);
      await screenshot(page, "console-narrow-ask");
      const ctrlEnter = async () => {
        await page.keyboard.down("Control");
        await page.keyboard.press("Enter");
        await page.keyboard.up("Control");
      };
      await page.type(".card-ask:not(.sent) textarea", "yes");
      await ctrlEnter();
      await page.waitForSelector(".card-ask .field-error:not([hidden])", TIMEOUT);
      assert.match(
        await page.$eval(".card-ask .field-error", (el) => el.textContent ?? ""),
        /quote it: "yes"/,
      );
      await page.keyboard.press("Home");
      await page.keyboard.type('"');
      await page.keyboard.press("End");
      await page.keyboard.type('"');
      await ctrlEnter();
      const run = await runEnded(server, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, {
        release: "1.2.3",
        r: { original: "NO", senior_answer: "yes" },
      });

      // The start form runs the seed Blueprint from the keyboard and shows the result.
      await page.click("#start-box summary");
      await page.$eval("#init-ctx", (el) => ((el as unknown as { value: string }).value = ""));
      await page.type("#init-ctx", '{"hello": "world"}');
      await page.keyboard.down("Control");
      await page.keyboard.press("Enter");
      await page.keyboard.up("Control");
      await page.waitForSelector("#run-events .ev-run_ended", TIMEOUT);
      await page.waitForSelector("#run-summary .status-succeeded", TIMEOUT);
      await page.waitForSelector("#run-ctx .final-ctx", TIMEOUT);
      const summary = await page.$eval("#run-ctx .final-ctx", (el) => el.textContent ?? "");
      assert.match(summary, /"hello": "world"/);
      await screenshot(page, "console-narrow-started");

      // A reload rejoins the same seat from sessionStorage.
      await page.reload({ waitUntil: "load" });
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      assert.equal(await page.$eval("#seat-sid", (el) => el.textContent), sid);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "console approves and vetoes hook_before cards and acks a spawn with JSON output",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const browser = await launch(executable);
    try {
      const { page, errors } = await openConsole(browser, server.base, 1280);
      await page.type("#mint-roles", "main-ai");
      await page.keyboard.press("Enter");
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      const sid = await page.$eval("#seat-sid", (el) => el.textContent ?? "");
      const gated = (id: string) => ({
        blueprint: {
          kind: "inline",
          value: operatorAgentBlueprint({ id, spawner_hints: { layers: ["main_ai"] } }),
        },
        init_ctx: {},
        operator: { kind: "main_ai", spawn_hook_id: sid },
        ttl_secs: 60,
      });

      const approved = await startRun(server, gated("approved"));
      await page.waitForSelector(".card-hook_before:not(.sent) .approve", TIMEOUT);
      await page.click(".card-hook_before:not(.sent) .approve");
      await page.waitForSelector(".card-spawn:not(.sent) textarea", TIMEOUT);
      await page.click(".card-spawn:not(.sent) summary");
      await screenshot(page, "console-desktop-spawn");
      await page.emulateMediaFeatures([
        { name: "prefers-reduced-motion", value: "reduce" },
        { name: "prefers-color-scheme", value: "dark" },
      ]);
      await screenshot(page, "console-desktop-spawn-dark");
      await page.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
      await page.type(".card-spawn:not(.sent) textarea", '{"done": true}');
      await page.click(".card-spawn:not(.sent) button.primary");
      const ok = await runEnded(server, approved);
      assert.equal(ok.status, "succeeded", JSON.stringify(ok));
      assert.deepEqual(ok.final_ctx, { r: { done: true } });
      await page.waitForSelector("#feed li", TIMEOUT);

      const vetoed = await startRun(server, gated("vetoed"));
      await page.waitForSelector(".card-hook_before:not(.sent) input", TIMEOUT);
      await page.type(".card-hook_before:not(.sent) input", "not on a Friday");
      await page.keyboard.press("Enter");
      const failed = await runEnded(server, vetoed);
      assert.equal(failed.status, "failed");
      assert.match(failed.error ?? "", /not on a Friday/);

      // A spawn can be failed with an error typed in the page.
      const broken = await startRun(server, gated("broken"));
      await page.waitForSelector(".card-hook_before:not(.sent) .approve", TIMEOUT);
      await page.click(".card-hook_before:not(.sent) .approve");
      await page.waitForSelector(".card-spawn:not(.sent) input:not([type])", TIMEOUT);
      await page.type(".card-spawn:not(.sent) input:not([type])", "disk full");
      await page.keyboard.press("Enter");
      const brokenRun = await runEnded(server, broken);
      assert.equal(brokenRun.status, "failed");
      assert.match(brokenRun.error ?? "", /disk full/);

      // The start form takes an inline Blueprint and an operator kind.
      await page.click("#start-box summary");
      await page.click('input[name="bp-kind"][value="inline"]');
      const inline = operatorAgentBlueprint({
        id: "from-form",
        spawner_hints: { layers: ["main_ai"] },
      });
      await page.$eval(
        "#bp-inline",
        (el, text) => ((el as unknown as { value: string }).value = text),
        JSON.stringify(inline),
      );
      await page.select("#op-kind", "main_ai");
      await page.click("#start-form button[type=submit]");
      await page.waitForSelector(".card-hook_before:not(.sent) .approve", TIMEOUT);
      await page.click(".card-hook_before:not(.sent) .approve");
      await page.waitForSelector(".card-spawn:not(.sent) textarea", TIMEOUT);
      await page.focus(".card-spawn:not(.sent) textarea");
      await page.keyboard.type('{"from": "form"}');
      await page.keyboard.down("Control");
      await page.keyboard.press("Enter");
      await page.keyboard.up("Control");
      await page.waitForSelector("#run-events .ev-run_ended", TIMEOUT);
      await page.waitForSelector("#run-summary .status-succeeded", TIMEOUT);
      await page.waitForSelector("#run-ctx .final-ctx", TIMEOUT);
      assert.match(
        await page.$eval("#run-ctx .final-ctx", (el) => el.textContent ?? ""),
        /"from": "form"/,
      );
      await page.waitForFunction('document.querySelectorAll(".card").length === 0', TIMEOUT);
      await screenshot(page, "console-desktop-form-run");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "console joins a seat by sid and token, shows a takeover, and drops a cancelled request",
  ignore: skip,
  async fn() {
    await using server = await startServer({ functions: [["nope", nope]] });
    const minted = await server.mint(["ops"]);
    const browser = await launch(executable);
    try {
      const a = await browser.newPage();
      const errors = watchErrors(a);
      await a.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
      await a.setViewport({ width: 400, height: 860 });
      await a.goto(`${server.base}/console`, { waitUntil: "load" });
      await a.waitForSelector("#join-sid", TIMEOUT);
      await a.type("#join-sid", minted.sid);
      await a.type("#join-token", "wrong-token");
      await a.keyboard.press("Enter");
      await a.waitForSelector("#join-error:not([hidden])", TIMEOUT);
      assert.match(await a.$eval("#join-error", (el) => el.textContent ?? ""), /token/);
      await a.$eval("#join-token", (el) => ((el as unknown as { value: string }).value = ""));
      await a.type("#join-token", minted.token);
      await a.keyboard.press("Enter");
      await a.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      assert.equal(await a.$eval("#seat-sid", (el) => el.textContent), minted.sid);
      assert.equal(await a.$eval("#seat-roles", (el) => el.textContent), "ops");

      const runId = await startRun(server, askingRun(minted.sid));
      await a.waitForSelector(".card-ask:not(.sent) textarea", TIMEOUT);

      // A second tab joins the same seat: it takes over, and the first one says so.
      const b = await browser.newPage();
      await b.goto(`${server.base}/console`, { waitUntil: "load" });
      await b.waitForSelector("#join-sid", TIMEOUT);
      await b.type("#join-sid", minted.sid);
      await b.type("#join-token", minted.token);
      await b.keyboard.press("Enter");
      await b.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      await b.waitForSelector(".card-ask", TIMEOUT); // replayed to the new socket
      await a.bringToFront();
      await a.waitForSelector('#conn[data-state="ended"]', TIMEOUT);
      assert.match(await a.$eval("#conn-text", (el) => el.textContent ?? ""), /Taken over/);
      await screenshot(a, "console-narrow-taken-over");

      // The first tab takes the seat back.
      await a.click("#conn-retry");
      await a.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      await b.waitForSelector('#conn[data-state="ended"]', TIMEOUT);
      assert.equal(await b.$eval("#conn-retry", (el) => el.textContent), "Take the seat back");

      // Cancelling the run withdraws the request: the card goes, a notice says why.
      const res = await fetch(`${server.base}/v1/runs/${runId}`, { method: "DELETE" });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      await a.waitForFunction('document.querySelectorAll(".card").length === 0', TIMEOUT);
      await a.waitForSelector("#req-notice:not([hidden])", TIMEOUT);
      assert.match(await a.$eval("#req-notice", (el) => el.textContent ?? ""), /its run ended/);

      // Deleting the seat sends the tab back to the seat forms, saying why.
      const deleted = await fetch(`${server.base}/v1/operators/${minted.sid}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${minted.token}` },
      });
      await deleted.body?.cancel();
      assert.equal(deleted.status, 204);
      await a.waitForSelector("#seat-panel:not([hidden]) #join-error:not([hidden])", TIMEOUT);
      assert.match(await a.$eval("#join-error", (el) => el.textContent ?? ""), /deleted/);
      assert.equal(await a.$eval("#conn", (el) => el.getAttribute("data-state")), "idle");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "console asks for the API token, then mints, follows events and answers with it",
  ignore: skip,
  async fn() {
    const apiToken = "s3cret-admin-token";
    await using server = await startServer({
      functions: [["nope", nope]],
      config: { apiToken },
    });
    const browser = await launch(executable);
    try {
      const { page, errors } = await openConsole(browser, server.base, 1280);
      await page.keyboard.press("Tab"); // skip link, then the roles field
      await page.click("#mint-form button[type=submit]");
      await page.waitForSelector("#mint-error:not([hidden])", TIMEOUT);
      assert.ok(await page.$eval("#settings", (el) => el.hasAttribute("open")));
      await page.type("#api-token", apiToken);
      await page.keyboard.press("Tab"); // `change` stores it
      await page.click("#mint-form button[type=submit]");
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      const sid = await page.$eval("#seat-sid", (el) => el.textContent ?? "");

      const started = await fetch(`${server.base}/v1/runs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiToken}` },
        body: JSON.stringify(askingRun(sid)),
      });
      assert.equal(started.status, 202);
      const { run_id: runId } = await started.json();
      await page.waitForSelector(`[data-run-id="${runId}"]`, TIMEOUT);
      await page.click(`[data-run-id="${runId}"]`);
      await page.waitForSelector("#run-events .ev-operator_request_sent", TIMEOUT);
      await page.type(".card-ask:not(.sent) textarea", "true");
      await page.click(".card-ask:not(.sent) button[type=submit]");
      await page.waitForSelector("#run-events .ev-run_ended", TIMEOUT);
      await page.waitForSelector("#run-summary .status-succeeded", TIMEOUT);
      await server.deps.engine.settled(runId);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
