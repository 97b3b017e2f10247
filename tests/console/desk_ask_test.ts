/**
 * The console with typed requests, in headless Chromium: an `ask` node answered
 * through the form generated from its schema (a validation error shown, then
 * fixed), a hook approved with an edited input, the audit in the run detail, and
 * a per-run seat's invite link. Screenshots go to tests/artifacts/.
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers.ts";
import { get, operatorAgentBlueprint, runEnded, startRun } from "../engine/_loop.ts";
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

/** A run whose flow asks `to` for a release decision through a schema. */
function decisionRun(to: string) {
  return {
    blueprint: {
      kind: "inline",
      value: {
        id: "release-gate",
        flow: {
          kind: "ask",
          to,
          question: "concat('Ship ', $.release, '?')",
          schema: {
            type: "object",
            required: ["approved", "risk", "score"],
            properties: {
              approved: { type: "boolean", title: "Approved" },
              risk: { type: "string", title: "Risk", enum: ["low", "medium", "high"] },
              score: {
                type: "integer",
                title: "Confidence",
                description: "1 (guess) to 5 (certain)",
                minimum: 1,
                maximum: 5,
              },
              // a rule the form leaves to the server (Ajv), whose issue lands on the field
              note: { type: "string", title: "Note", not: { const: "tbd" } },
            },
          },
          out: "$.decision",
        },
      },
    },
    init_ctx: { release: "1.4.0" },
    ttl_secs: 60,
  };
}

Deno.test({
  name:
    "console answers an ask through the form its schema generates, after a validation error is shown and fixed",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const browser = await launch(executable);
    try {
      const { page, errors } = await openPage(browser, `${server.base}/console`);
      const sid = await mintInPage(page, "reviewer");
      const runId = await startRun(server, decisionRun("reviewer"));
      const card = ".card-ask:not(.sent)";
      await page.waitForSelector(`${card} .schema-form`, TIMEOUT);
      // The card says where the question comes from.
      assert.match(await text(page, `${card} .ctx`), new RegExp(`${runId}[\\s\\S]*release-gate`));
      assert.equal(await text(page, `${card} .question`), "Ship 1.4.0?");
      const labels = await page.$$eval(
        `${card} .sf-field > label:first-child, ${card} .sf-field legend`,
        (els) => els.map((e) => e.textContent?.trim()),
      );
      assert.deepEqual(labels, ["Approved", "Risk *", "Confidence *", "Note optional"]);
      assert.equal(
        await page.$$eval(`${card} input[type=radio]`, (els) => els.length),
        3,
        "an enum as choices",
      );

      // Out of range: the field says why, and nothing is sent.
      await page.click(`${card} input[type=checkbox]`);
      await page.click(`${card} input[type=radio][value="1"]`);
      await page.type(`${card} input[type=number]`, "9");
      await page.click(`${card} button[type=submit]`);
      await page.waitForSelector(`${card} .sf-field .field-error:not([hidden])`, TIMEOUT);
      assert.match(
        await text(page, `${card} .sf-field .field-error:not([hidden])`),
        /Confidence: must be ≤ 5/,
      );
      assert.equal(server.deps.sessions.get(sid)?.pendingCount, 1);
      await screenshot(page, "desk-ask-form-error");

      // Raw JSON that the server refuses: its issues show in the form; the ask stays.
      await page.click(`${card} .sf-toggle input`);
      await page.$eval(
        `${card} .sf-raw textarea`,
        (el) => ((el as unknown as { value: string }).value = ""),
      );
      await page.type(`${card} .sf-raw textarea`, '{"approved": "yes", "risk": "low", "score": 2}');
      await page.click(`${card} button[type=submit]`);
      await page.waitForSelector(`${card} .card-status.error`, TIMEOUT);
      assert.match(await text(page, `${card} .sf-summary`), /approved/);
      assert.equal(server.deps.sessions.get(sid)?.pendingCount, 1);

      // Back to the form: a field the server refuses shows the issue under that field
      // (found by the pointer), and the ask stays.
      await page.click(`${card} .sf-toggle input`);
      const score = `${card} input[type=number]`;
      await page.$eval(score, (el) => ((el as unknown as { value: string }).value = ""));
      await page.type(score, "4");
      const note = `${card} .sf-field[data-path="/note"] :is(textarea, input[type=text])`;
      await page.type(note, "tbd");
      await page.click(`${card} button[type=submit]`);
      const noteError = `${card} .sf-field[data-path="/note"] .field-error:not([hidden])`;
      await page.waitForSelector(noteError, TIMEOUT);
      assert.equal(await text(page, noteError), "must NOT be valid");
      assert.equal(server.deps.sessions.get(sid)?.pendingCount, 1);

      // Fixed: the answer is the form's object.
      await page.$eval(note, (el) => ((el as unknown as { value: string }).value = ""));
      await page.type(note, "looks fine");
      await page.click(`${card} button[type=submit]`);
      const run = await runEnded(server, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual((run.final_ctx as { decision: unknown }).decision, {
        approved: true,
        risk: "medium",
        score: 4,
        note: "looks fine",
      });
      await page.waitForFunction('document.querySelectorAll(".card").length === 0', TIMEOUT);

      // The run detail shows who answered (the audit).
      await page.click(`[data-run-id="${runId}"]`);
      await page.waitForSelector("#run-timeline .tl-req", TIMEOUT);
      await page.$$eval(
        "#run-timeline .tl-req summary",
        (els) => els.forEach((e) => (e as unknown as { click(): void }).click()),
      );
      await page.waitForSelector("#run-timeline .audit-by", TIMEOUT);
      assert.match(
        await text(page, "#run-timeline .audit-by"),
        new RegExp(`${sid} \\(reviewer\\) via switchboard-console`),
      );
      await screenshot(page, "desk-ask-audit");
      assert.deepEqual(errors.filter((e) => !/refused this reply/.test(e)), []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "console approves a hook with an edited input, and the step runs with it",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const browser = await launch(executable);
    try {
      const { page, errors } = await openPage(browser, `${server.base}/console`);
      const sid = await mintInPage(page, "main-ai");
      const runId = await startRun(server, {
        blueprint: {
          kind: "inline",
          value: operatorAgentBlueprint({ id: "gated", spawner_hints: { layers: ["main_ai"] } }),
        },
        init_ctx: {},
        operator: { kind: "main_ai", spawn_hook_id: sid },
        ttl_secs: 60,
      });
      const hook = ".card-hook_before:not(.sent)";
      await page.waitForSelector(`${hook} .edits`, TIMEOUT);
      assert.match(await text(page, `${hook} .ctx-input pre`), /do X/);
      await page.click(`${hook} .edits summary`);
      await page.$eval(
        `${hook} .edits textarea`,
        (el) => ((el as unknown as { value: string }).value = ""),
      );
      await page.type(`${hook} .edits textarea`, "do Y, carefully");
      await screenshot(page, "desk-hook-edit");
      await page.click(`${hook} .approve-edited`);
      // The spawn that follows gets the edited prompt.
      await page.waitForSelector(".card-spawn:not(.sent) pre.prompt", TIMEOUT);
      assert.equal(await text(page, ".card-spawn pre.prompt"), "do Y, carefully");
      await page.type(".card-spawn:not(.sent) textarea", '{"done": "Y"}');
      await page.click(".card-spawn:not(.sent) button.primary");
      const run = await runEnded(server, runId);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual(run.final_ctx, { r: { done: "Y" } });
      const trace = (await get(server, `/v1/runs/${runId}/trace`)).body as {
        steps: Array<{ input: string }>;
      };
      assert.equal(trace.steps[0].input, "do Y, carefully");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "console shows the invite link of a run's own seat, and the link seats its reviewer at once",
  ignore: skip,
  async fn() {
    await using server = await startServer();
    const browser = await launch(executable);
    try {
      const { page, errors } = await openPage(browser, `${server.base}/console`);
      await mintInPage(page, "owner");
      await page.click("#start-box summary");
      await page.click('input[name="bp-kind"][value="inline"]');
      await page.$eval(
        "#bp-inline",
        (el, v) => ((el as unknown as { value: string }).value = v),
        JSON.stringify(decisionRun("reviewer").blueprint.value),
      );
      await page.$eval(
        "#init-ctx",
        (el) => ((el as unknown as { value: string }).value = '{"release": "2.0"}'),
      );
      await page.type("#run-seat-role", "reviewer");
      await page.click("#start-form button[type=submit]");
      await page.waitForSelector("#run-seats .invite-link", TIMEOUT);
      const link = await page.$eval(
        "#run-seats .invite-link",
        (el) => (el as unknown as { value: string }).value,
      );
      assert.match(link, /\/console#sid=op-[^&]+&token=/);
      await screenshot(page, "desk-run-seat-invite");

      // The reviewer opens the link in a fresh browser context.
      const context = await browser.createBrowserContext();
      const reviewer = await context.newPage();
      const reviewerErrors = watchErrors(reviewer);
      await reviewer.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
      await reviewer.setViewport({ width: 400, height: 900 });
      await reviewer.goto(link, { waitUntil: "load" });
      await reviewer.waitForSelector('#conn[data-state="open"]', TIMEOUT);
      await reviewer.waitForSelector(".card-ask:not(.sent) .schema-form", TIMEOUT);
      await screenshot(reviewer, "desk-invited-reviewer-narrow");

      // The owner's page lists every seat's waiting requests (the inbox), the reviewer's too.
      await page.click("#inbox-box summary");
      await page.waitForSelector("#inbox-list .inbox-ask", TIMEOUT);
      assert.match(await text(page, "#inbox-list .inbox-ask"), /Question\s*reviewer\s*waiting/);
      assert.match(await text(page, "#inbox-list .inbox-ask .inbox-where"), /release-gate/);
      await screenshot(page, "desk-inbox");
      const card = ".card-ask:not(.sent)";
      await reviewer.click(`${card} input[type=checkbox]`);
      await reviewer.click(`${card} input[type=radio][value="0"]`);
      await reviewer.type(`${card} input[type=number]`, "5");
      await reviewer.click(`${card} button[type=submit]`);
      const runId = (await text(page, "#run-detail-h")).replace(/^Run /, "");
      const run = await runEnded(server, runId);
      assert.deepEqual((run.final_ctx as { decision: unknown }).decision, {
        approved: true,
        risk: "low",
        score: 5,
      });
      await context.close();
      assert.deepEqual(errors, []);
      assert.deepEqual(reviewerErrors, []);
    } finally {
      await browser.close();
    }
  },
});
