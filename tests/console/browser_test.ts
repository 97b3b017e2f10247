import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { operatorAgentBlueprint, runEnded, startRun } from "../engine/_loop.ts";
import { browserSetup, launch, screenshot, watchErrors } from "./_browser.ts";

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

const nope = () => Promise.resolve({ value: "NO", ok: false });

Deno.test({
  name: "console mints a seat, answers an ask typed in the page, and the run ends with it",
  ignore: skip,
  async fn() {
    await using server = await startServer({ functions: [["nope", nope]] });
    const browser = await launch(executable);
    try {
      const page = await browser.newPage();
      const errors = watchErrors(page);
      await page.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
      await page.setViewport({ width: 1280, height: 860 });
      await page.goto(`${server.base}/console`, { waitUntil: "load" });
      await page.waitForSelector("#mint-roles", TIMEOUT);
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
      const question = await page.$eval(".card-ask:not(.sent) pre", (el) => el.textContent ?? "");
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
      const page = await browser.newPage();
      const errors = watchErrors(page);
      await page.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
      await page.setViewport({ width: 400, height: 860 });
      await page.goto(`${server.base}/console`, { waitUntil: "load" });
      await page.waitForSelector("#mint-roles", TIMEOUT);
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
      await page.type(".card-ask:not(.sent) textarea", '"yes"');
      await page.keyboard.down("Control");
      await page.keyboard.press("Enter");
      await page.keyboard.up("Control");
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
      const summary = await page.$eval("#run-summary", (el) => el.textContent ?? "");
      assert.match(summary, /"hello": "world"/);
      await screenshot(page, "console-narrow-started");

      // A reload rejoins the same seat from sessionStorage.
      await page.reload({ waitUntil: "load" });
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      assert.equal(await page.$eval("#seat-sid", (el) => el.textContent), sid);
      assert.deepEqual(errors.filter((e) => !e.includes("WebSocket")), []);
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
      const page = await browser.newPage();
      const errors = watchErrors(page);
      await page.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
      await page.setViewport({ width: 1280, height: 860 });
      await page.goto(`${server.base}/console`, { waitUntil: "load" });
      await page.waitForSelector("#mint-roles", TIMEOUT);
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
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
