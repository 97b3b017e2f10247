/**
 * The console as an operator's desk, in headless Chromium: run history (filters,
 * search, pages, live), a run's timeline and ctx diff, a spawn done by hand,
 * notifications while hidden, invite links and several seats in one view.
 * Screenshots of each state go to tests/artifacts/.
 */
import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import { startServer, type TestServer } from "../_helpers.ts";
import { post, runEnded, startRun } from "../engine/_loop.ts";
import {
  browserSetup,
  launch,
  mintInPage,
  openPage,
  screenshot,
  text,
  TIMEOUT,
  watchErrors,
} from "./_browser.ts";

const { executable, skip } = browserSetup();
const nope = () => Promise.resolve({ value: "NO", ok: false });

const setValue = (page: Page, selector: string, value: string) =>
  page.$eval(selector, (el, v) => ((el as unknown as { value: string }).value = v), value);

async function storeBlueprint(server: TestServer, id: string, fnId: string) {
  const res = await post(server, `/v1/blueprints/${id}`, {
    id,
    agents: [{ name: "work", kind: "rust_fn", spec: { fn_id: fnId } }],
    flow: { kind: "step", ref: "work", in: "$.n", out: "$.out" },
  });
  assert.ok(res.status < 300, JSON.stringify(res.body));
}

Deno.test({
  name:
    "console run history filters by status and Blueprint, searches ids, pages over 60 runs and updates live",
  ignore: skip,
  async fn() {
    await using server = await startServer({ functions: [["nope", nope]] });
    await storeBlueprint(server, "alpha", "identity");
    await storeBlueprint(server, "beta", "identity");
    await storeBlueprint(server, "gamma", "nope");
    const ids: Record<string, string[]> = { alpha: [], beta: [], gamma: [] };
    for (let i = 0; i < 60; i++) {
      const id = i % 6 === 5 ? "gamma" : i % 2 === 0 ? "alpha" : "beta";
      const runId = await startRun(server, { blueprint: { kind: "id", id }, init_ctx: { n: i } });
      ids[id].push(runId);
      await runEnded(server, runId);
    }
    assert.deepEqual([ids.alpha.length, ids.beta.length, ids.gamma.length], [30, 20, 10]);
    // The server's order: newest first, runs of the same millisecond by id.
    const listed = await (await fetch(`${server.base}/v1/runs?limit=100`)).json() as {
      runs: Array<{ run_id: string }>;
    };
    const order = listed.runs.map((r) => r.run_id);
    const newest = (id: string) => order.filter((r) => ids[id].includes(r));
    const browser = await launch(executable);
    try {
      const { page, errors } = await openPage(browser, `${server.base}/console`);
      await page.waitForFunction('document.querySelectorAll(".run-item").length === 20', TIMEOUT);
      await page.waitForSelector("#runs-live:not(:empty)", TIMEOUT);
      const rows = await page.$$eval(
        ".run-item",
        (els) =>
          els.map((e) => [e.getAttribute("data-run-id"), e.querySelector(".run-bp")?.textContent]),
      );
      assert.deepEqual(rows.map((r) => r[0]), order.slice(0, 20), "newest first");
      const bpOf = (runId: string | null | undefined) =>
        Object.keys(ids).find((k) => ids[k].includes(runId ?? ""));
      assert.ok(rows.every(([id, bp]) => bpOf(id ?? null) === bp), "each row names its Blueprint");
      assert.match(await text(page, ".run-item .run-dur"), /\d+ (ms|s)/);

      // Blueprint filter and pages: 30 alpha runs are 20 + 10.
      await page.waitForSelector('#runs-blueprint option[value="alpha"]', TIMEOUT);
      await page.select("#runs-blueprint", "alpha");
      await page.waitForFunction(
        'document.getElementById("runs-page").textContent === "1–20 of 30"',
        TIMEOUT,
      );
      const first = await page.$$eval(
        ".run-item",
        (els) => els.map((e) => e.getAttribute("data-run-id")),
      );
      assert.deepEqual(first, newest("alpha").slice(0, 20));
      await screenshot(page, "desk-runs-filtered");
      await page.click("#runs-older");
      await page.waitForFunction(
        'document.getElementById("runs-page").textContent === "21–30 of 30"',
        TIMEOUT,
      );
      const second = await page.$$eval(
        ".run-item",
        (els) => els.map((e) => e.getAttribute("data-run-id")),
      );
      assert.deepEqual(second, newest("alpha").slice(20));
      assert.equal(
        await page.$eval("#runs-older", (el) => (el as unknown as { disabled: boolean }).disabled),
        true,
      );
      await page.click("#runs-newer");
      await page.waitForFunction(
        'document.getElementById("runs-page").textContent === "1–20 of 30"',
        TIMEOUT,
      );

      // Status filter: the ten failed runs are gamma's.
      await page.select("#runs-blueprint", "");
      await page.select("#runs-status", "failed");
      await page.waitForFunction(
        'document.getElementById("runs-page").textContent === "1–10 of 10"',
        TIMEOUT,
      );
      const failed = await page.$$eval(".run-item .run-bp", (els) => els.map((e) => e.textContent));
      assert.deepEqual(new Set(failed), new Set(["gamma"]));

      // `/` jumps to the search; part of an id finds that run.
      await page.select("#runs-status", "");
      await page.focus("body");
      await page.keyboard.press("/");
      assert.equal(await page.evaluate("document.activeElement.id"), "runs-search");
      const wanted = ids.beta[7];
      await page.keyboard.type(wanted.slice(-10));
      await page.waitForFunction(
        `document.querySelectorAll(".run-item").length === 1 && ` +
          `document.querySelector(".run-item").dataset.runId === ${JSON.stringify(wanted)}`,
        TIMEOUT,
      );
      await screenshot(page, "desk-runs-search");

      // Live: with the alpha filter on the first page, a new alpha run appears by itself.
      await setValue(page, "#runs-search", "");
      await page.select("#runs-blueprint", "alpha");
      await page.waitForFunction(
        'document.getElementById("runs-page").textContent === "1–20 of 30"',
        TIMEOUT,
      );
      const fresh = await startRun(server, {
        blueprint: { kind: "id", id: "alpha" },
        init_ctx: { n: 99 },
      });
      await page.waitForSelector(
        `.run-item[data-run-id="${fresh}"][data-status="succeeded"]`,
        TIMEOUT,
      );
      assert.equal(
        await page.$eval(".run-item", (el) => el.getAttribute("data-run-id")),
        fresh,
        "the new run is on top",
      );
      assert.equal(await text(page, "#runs-page"), "1–20 of 31");
      const gamma = await startRun(server, {
        blueprint: { kind: "id", id: "gamma" },
        init_ctx: { n: 1 },
      });
      await runEnded(server, gamma);
      assert.equal(await page.$(`.run-item[data-run-id="${gamma}"]`), null, "filtered out");
      await page.setViewport({ width: 400, height: 900 });
      await screenshot(page, "desk-runs-narrow");
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
  name: "console shows a three-step run's timeline, each step's input and output, and the ctx diff",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const browser = await launch(executable);
    try {
      const { page, errors } = await openPage(browser, `${server.base}/console`);
      await mintInPage(page, "writer");
      // Started from the "Three echo steps" template of the start form.
      await page.click("#start-box summary");
      await page.click('input[name="bp-kind"][value="template"]');
      await page.select("#bp-template", "echo-three");
      assert.match(
        await page.$eval("#init-ctx", (el) => (el as unknown as { value: string }).value),
        /release notes/,
      );
      await page.click("#start-form button[type=submit]");
      await page.waitForSelector("#run-summary .status-succeeded", TIMEOUT);
      await page.waitForFunction(
        'document.querySelectorAll("#run-timeline .tl-step").length === 3',
        TIMEOUT,
      );
      const labels = await page.$$eval(
        "#run-timeline .tl-step .tl-label",
        (els) => els.map((e) => e.textContent),
      );
      assert.deepEqual(labels, ["Step echo #1", "Step echo #1", "Step echo #1"]);
      const durations = await page.$$eval(
        "#run-timeline .tl-step .tl-dur",
        (els) => els.map((e) => e.textContent),
      );
      assert.ok(durations.every((d) => /^\d+ ms$|^\d+(\.\d)? s$/.test(d ?? "")), durations.join());

      // opened rows stay open when the detail redraws
      await page.$$eval(
        "#run-timeline .tl-step summary",
        (els) => els.forEach((e) => (e as unknown as { click(): void }).click()),
      );
      const steps = await page.$$eval("#run-timeline .tl-step", (els) =>
        els.map((e) => ({
          input: e.querySelectorAll("pre")[0]?.textContent,
          output: e.querySelectorAll("pre")[1]?.textContent,
          diff: [...e.querySelectorAll(".diff li")].map((li) =>
            `${li.className} ${li.querySelector(".diff-path")?.textContent}`
          ),
        })));
      assert.deepEqual(steps.map((s) => s.input), [
        "release notes",
        "review release notes",
        '{"round":1}',
      ]);
      assert.match(steps[0].output ?? "", /"echoed": "release notes"/);
      assert.deepEqual(steps[0].diff, ["diff-added $.draft"]);
      assert.deepEqual(steps[1].diff, ["diff-added $.round", "diff-added $.review"]);
      assert.deepEqual(steps[2].diff, ["diff-added $.final"]);
      assert.match(await text(page, "#run-ctx"), /init_ctx[\s\S]*"topic": "release notes"/);
      assert.match(await text(page, "#run-ctx .final-ctx"), /"final"/);
      const log = await page.$$eval("#run-events .ev-type", (els) => els.map((e) => e.textContent));
      assert.equal(log.filter((t) => t === "step finished").length, 3);
      await screenshot(page, "desk-run-timeline");
      await page.emulateMediaFeatures([
        { name: "prefers-reduced-motion", value: "reduce" },
        { name: "prefers-color-scheme", value: "dark" },
      ]);
      await screenshot(page, "desk-run-timeline-dark");
      await page.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);

      // Re-run with the same input: a new run with the same final ctx.
      const before = await page.$eval("#run-detail-h", (el) => el.textContent ?? "");
      await page.click("#run-rerun");
      await page.waitForFunction(
        `document.getElementById("run-detail-h").textContent !== ${JSON.stringify(before)}`,
        TIMEOUT,
      );
      await page.waitForSelector("#run-summary .status-succeeded", TIMEOUT);
      const again = (await text(page, "#run-detail-h")).replace(/^Run /, "");
      const run = await runEnded(server, again);
      assert.deepEqual((run.final_ctx as { topic: string }).topic, "release notes");
      await page.setViewport({ width: 400, height: 900 });
      await screenshot(page, "desk-run-timeline-narrow");
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
  name:
    "console does a spawn by hand: the prompt is shown and the result posts through the worker routes",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const browser = await launch(executable);
    try {
      const { page, errors } = await openPage(browser, `${server.base}/console`);
      await mintInPage(page, "writer");
      await page.click("#start-box summary");
      await page.click('input[name="bp-kind"][value="template"]');
      await page.select("#bp-template", "by-hand");
      await page.click("#start-form button[type=submit]");
      await page.waitForSelector(".card-spawn:not(.sent) pre.prompt", TIMEOUT);
      assert.equal(await text(page, ".card-spawn pre.prompt"), "Write a haiku about queues");
      await page.type(
        ".card-spawn:not(.sent) textarea",
        "queues hum at night\nfirst in, first out, patient\nthe worker wakes now",
      );
      await screenshot(page, "desk-spawn-by-hand");
      await page.click(".card-spawn:not(.sent) button.primary");
      await page.waitForSelector("#run-summary .status-succeeded", TIMEOUT);
      const runId = (await text(page, "#run-detail-h")).replace(/^Run /, "");
      const run = await runEnded(server, runId);
      assert.deepEqual(run.final_ctx, {
        task: "Write a haiku about queues",
        result: "queues hum at night\nfirst in, first out, patient\nthe worker wakes now",
      });
      // The timeline shows the spawn request beside the step, and the step's output.
      await page.waitForSelector("#run-timeline .tl-req", TIMEOUT);
      assert.match(await text(page, "#run-timeline .tl-req .tl-label"), /Spawn writer/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "console notifies while the tab is hidden, counts requests in the title, and moves with keys",
  ignore: skip,
  async fn() {
    await using server = await startServer({ functions: [["nope", nope]] });
    const browser = await launch(executable);
    try {
      await browser.defaultBrowserContext().overridePermissions(server.base, ["notifications"]);
      const page = await browser.newPage();
      const errors = watchErrors(page);
      // Record each notification the page makes (the real one is still made).
      await page.evaluateOnNewDocument(`
        const Real = window.Notification;
        window.__notes = [];
        window.Notification = class extends Real {
          constructor(title, options) { super(title, options); window.__notes.push({ title, body: options?.body ?? "" }); }
        };
      `);
      await page.setViewport({ width: 1280, height: 900 });
      await page.goto(`${server.base}/console`, { waitUntil: "load" });
      const sid = await mintInPage(page, "reviewer");
      assert.equal(await page.evaluate("Notification.permission"), "granted");
      assert.equal(
        await page.$eval("#notify-toggle", (el) => (el as unknown as { hidden: boolean }).hidden),
        true,
      );

      // Another tab in front hides this one.
      const other = await browser.newPage();
      await other.bringToFront();
      // a hidden page draws no frames: poll by time
      const hidden = { ...TIMEOUT, polling: 100 };
      await page.waitForFunction('document.visibilityState === "hidden"', hidden);
      const runId = await startRun(server, askingRun(sid));
      await page.waitForFunction("window.__notes.length === 1", hidden);
      const [note] = await page.evaluate("window.__notes") as Array<
        { title: string; body: string }
      >;
      assert.match(note.title, /Question/);
      assert.equal(await page.title(), "(1) Switchboard console");
      await page.bringToFront();
      await page.waitForFunction('document.visibilityState === "visible"', hidden);
      await other.close();

      // A second request while visible: counted, not notified. j/k move, ? helps, a sends.
      const second = await startRun(server, askingRun(sid));
      await page.waitForFunction(
        'document.querySelectorAll(".card:not(.sent)").length === 2',
        TIMEOUT,
      );
      assert.equal(await page.title(), "(2) Switchboard console");
      assert.equal(await page.evaluate("window.__notes.length"), 1);
      await page.focus("body");
      await page.keyboard.press("j");
      const firstCard = await page.evaluate("document.activeElement.dataset.reqId");
      await page.keyboard.press("j");
      const secondCard = await page.evaluate("document.activeElement.dataset.reqId");
      assert.notEqual(firstCard, secondCard);
      await page.keyboard.press("k");
      assert.equal(await page.evaluate("document.activeElement.dataset.reqId"), firstCard);
      await page.keyboard.press("?");
      await page.waitForSelector("#help[open]", TIMEOUT);
      await screenshot(page, "desk-keys-help");
      await page.keyboard.press("Escape");
      await page.waitForSelector("#help:not([open])", TIMEOUT);
      for (const id of [runId, second]) {
        await page.focus(`.card:not(.sent) textarea`);
        await page.keyboard.type("true");
        await page.keyboard.down("Control");
        await page.keyboard.press("Enter");
        await page.keyboard.up("Control");
        await runEnded(server, id);
        await page.waitForFunction(
          `!document.querySelector('.card:not(.sent) [data-open-run="${id}"]')`,
          TIMEOUT,
        );
      }
      await page.waitForFunction('document.title === "Switchboard console"', TIMEOUT);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

/** A run whose one step fails and is escalated to `sid` as an ask. */
function askingRun(sid: string) {
  return {
    blueprint: {
      kind: "inline",
      value: {
        id: "ask-me",
        agents: [{ name: "check", kind: "rust_fn", spec: { fn_id: "nope" } }],
        flow: { kind: "step", ref: "check", in: "'ship it?'", out: "$.r" },
        spawner_hints: { layers: ["senior_escalation"] },
      },
    },
    init_ctx: { release: "1.2.3" },
    operator_sid: sid,
    operator: { senior_bridge_id: sid },
    ttl_secs: 60,
  };
}

Deno.test({
  name: "console joins at once from an invite link and holds several seats in one view",
  ignore: skip,
  async fn() {
    await using server = await startServer({ functions: [["nope", nope]] });
    const invited = await server.mint(["reviewer"]);
    const browser = await launch(executable);
    try {
      const hash = new URLSearchParams({ sid: invited.sid, token: invited.token });
      const { page, errors } = await openPage(browser, `${server.base}/console#${hash}`, 400);
      await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      assert.equal(await text(page, "#seat-sid"), invited.sid);
      assert.equal(await page.evaluate("location.hash"), "", "the token leaves the address bar");
      assert.equal(server.deps.sessions.get(invited.sid)?.connected, true);

      // A second seat in the same view.
      await page.click("#seat-add");
      await page.waitForSelector("#seat-panel:not([hidden]) #mint-roles", TIMEOUT);
      await page.type("#mint-roles", "second");
      await page.click("#mint-form button[type=submit]");
      await page.waitForFunction(
        'document.querySelectorAll("#seat-list .chip[data-state=open]").length === 2',
        TIMEOUT,
      );
      const second = await page.$$eval(
        "#seat-list .chip",
        (els) => els.map((e) => e.getAttribute("data-sid")),
      );
      assert.equal(second[0], invited.sid);
      const secondSid = second[1] ?? "";
      assert.equal(server.deps.sessions.get(secondSid)?.connected, true);

      // Requests to each seat land in the one list, tagged with their seat.
      const a = await startRun(server, askingRun(invited.sid));
      const b = await startRun(server, askingRun(secondSid));
      await page.waitForFunction(
        'document.querySelectorAll(".card:not(.sent)").length === 2',
        TIMEOUT,
      );
      const tags = await page.$$eval(".card .seat-tag", (els) => els.map((e) => e.textContent));
      assert.deepEqual(tags.sort(), ["reviewer", "second"]);
      await screenshot(page, "desk-two-seats-narrow");
      for (const sid of [secondSid, invited.sid]) {
        const card = `.card[data-sid="${sid}"]:not(.sent)`;
        await page.type(`${card} textarea`, `"from ${sid.slice(0, 6)}"`);
        await page.click(`${card} button[type=submit]`);
      }
      for (const [id, sid] of [[a, invited.sid], [b, secondSid]]) {
        const run = await runEnded(server, id);
        assert.deepEqual((run.final_ctx as { r: unknown }).r, {
          original: "NO",
          senior_answer: `from ${sid.slice(0, 6)}`,
        });
      }
      // A reload keeps both seats.
      await page.reload({ waitUntil: "load" });
      await page.waitForFunction(
        'document.querySelectorAll("#seat-list .chip[data-state=open]").length === 2',
        TIMEOUT,
      );
      // Leaving the first seat leaves the second in the header.
      await page.click("#seat-leave");
      await page.waitForFunction(
        `document.getElementById("seat-sid").textContent === ${JSON.stringify(secondSid)}`,
        TIMEOUT,
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
