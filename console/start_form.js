// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The start-run form: a stored Blueprint (picked from the list, with an optional
 * version), a template, or inline JSON; an `init_ctx`, an optional TTL, and the
 * seat to route operator requests to.
 *
 * @module
 */
import { call } from "./api.js";
import { announce, byId, fieldError, h, isSendKey, parseJsonInput, prettyJson } from "./dom.js";
import { inviteLink } from "./invite.js";
import { TEMPLATES } from "./templates.js";

const HEX_VERSION = /^[0-9a-fA-F]{64}$/;

/**
 * @param {{ seatSid: () => string | null, seatRole?: () => string | null,
 *   started: (runId: string) => void }} options
 */
export function createStartForm(options) {
  const form = /** @type {HTMLFormElement} */ (byId("start-form"));
  const idFields = byId("bp-id-fields");
  const inlineFields = byId("bp-inline-fields");
  const bpId = /** @type {HTMLInputElement} */ (byId("bp-id"));
  const bpVersion = /** @type {HTMLInputElement} */ (byId("bp-version"));
  const bpInline = /** @type {HTMLTextAreaElement} */ (byId("bp-inline"));
  const initCtx = /** @type {HTMLTextAreaElement} */ (byId("init-ctx"));
  const ttl = /** @type {HTMLInputElement} */ (byId("ttl"));
  const useSeat = /** @type {HTMLInputElement} */ (byId("use-seat"));
  const opKind = /** @type {HTMLSelectElement} */ (byId("op-kind"));
  const error = byId("start-error");
  const seatRole = /** @type {HTMLInputElement} */ (byId("run-seat-role"));
  const runSeats = byId("run-seats");
  const templateFields = byId("bp-template-fields");
  const template = /** @type {HTMLSelectElement} */ (byId("bp-template"));
  const templateNote = byId("bp-template-note");
  const ids = byId("bp-ids");
  template.replaceChildren(...TEMPLATES.map((t) => h("option", { value: t.id }, t.name)));

  const mode = () =>
    /** @type {HTMLInputElement | null} */ (form.querySelector("input[name=bp-kind]:checked"))
      ?.value ?? "id";
  const inlineMode = () => mode() === "inline";
  const chosen = () => TEMPLATES.find((t) => t.id === template.value) ?? TEMPLATES[0];
  const showTemplate = () => {
    const t = chosen();
    templateNote.textContent = t.note;
    initCtx.value = prettyJson(t.initCtx);
    if (t.operatorKind) opKind.value = t.operatorKind;
  };
  form.addEventListener("change", (e) => {
    idFields.hidden = mode() !== "id";
    inlineFields.hidden = mode() !== "inline";
    templateFields.hidden = mode() !== "template";
    const target = /** @type {HTMLElement} */ (e.target);
    if (
      target === template || (target.getAttribute("name") === "bp-kind" && mode() === "template")
    ) {
      showTemplate();
    }
  });
  /** Lists the stored Blueprints in the id field's suggestions. */
  async function loadIds() {
    try {
      const list = /** @type {{ blueprints: Array<{ id: string, archived: boolean }> }} */ (
        await call("GET", "/v1/blueprints")
      );
      ids.replaceChildren(
        ...list.blueprints.filter((b) => !b.archived).map((b) => h("option", { value: b.id })),
      );
    } catch {
      // typing an id still works
    }
  }
  byId("start-box").addEventListener("toggle", () => {
    if (/** @type {HTMLDetailsElement} */ (byId("start-box")).open) void loadIds();
  });
  form.addEventListener("keydown", (e) => {
    if (isSendKey(e)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  /** @returns {Record<string, unknown> | null} the body, or null after showing an error */
  function body() {
    /** @type {Record<string, unknown>} */
    let blueprint;
    if (mode() === "template") {
      const who = options.seatRole?.() ?? options.seatSid();
      if (!who) return fail("Take a seat first: the template's operator steps go to it.", template);
      blueprint = { kind: "inline", value: chosen().blueprint(who) };
    } else if (inlineMode()) {
      const parsed = parseJsonInput(bpInline.value);
      if (!parsed.ok) return fail(`Blueprint: ${parsed.error}`, bpInline);
      blueprint = { kind: "inline", value: parsed.value };
    } else {
      const id = bpId.value.trim();
      if (!id) return fail("Enter a Blueprint id.", bpId);
      blueprint = { kind: "id", id };
      const version = bpVersion.value.trim();
      if (version && version !== "latest") {
        blueprint.version = HEX_VERSION.test(version)
          ? { kind: "fixed", value: version.toLowerCase() }
          : { kind: "semver_req", req: version };
      }
    }
    const ctx = parseJsonInput(initCtx.value);
    if (!ctx.ok) return fail(`init_ctx: ${ctx.error}`, initCtx);
    /** @type {Record<string, unknown>} */
    const out = { blueprint, init_ctx: ctx.value };
    if (ttl.value.trim() !== "") {
      const secs = Number(ttl.value);
      if (!Number.isInteger(secs) || secs < 0) return fail("TTL must be a whole number.", ttl);
      out.ttl_secs = secs;
    }
    /** @type {Record<string, string>} */
    const operator = {};
    if (opKind.value) operator.kind = opKind.value;
    const sid = options.seatSid();
    if (sid && useSeat.checked) {
      // The seat executes operator agents, gates spawns and answers escalations.
      out.operator_sid = sid;
      operator.spawn_hook_id = sid;
      operator.senior_bridge_id = sid;
    }
    if (Object.keys(operator).length > 0) out.operator = operator;
    const role = seatRole.value.trim();
    if (role) out.seats = [{ role }];
    return out;
  }

  /**
   * The seats minted for a run: an invite link each, to hand to its reviewer.
   * @param {string} runId
   * @param {Array<{ sid: string, token: string, role: string }>} seats
   */
  function showSeats(runId, seats) {
    runSeats.hidden = seats.length === 0;
    runSeats.replaceChildren(
      ...(seats.length > 0
        ? [h("p", { class: "hint" }, `Seats of ${runId}: send each link to its reviewer.`)]
        : []),
      ...seats.map((s) => {
        const link = inviteLink(s);
        const id = `invite-${s.sid}`;
        return h(
          "div",
          { class: "invite" },
          h("label", { for: id }, `Invite link for ${s.role}`),
          h("input", { id, class: "invite-link", readonly: true, value: link }),
          h("button", {
            type: "button",
            class: "small",
            onclick: async () => {
              try {
                await navigator.clipboard.writeText(link);
                announce("Invite link copied.");
              } catch {
                announce("The clipboard is not available here; select the link instead.");
              }
            },
          }, "Copy"),
        );
      }),
    );
  }

  /** @param {string} message @param {HTMLElement} field @returns {null} */
  function fail(message, field) {
    fieldError(error, message);
    field.setAttribute("aria-invalid", "true");
    field.focus();
    return null;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const f of form.querySelectorAll("[aria-invalid]")) f.removeAttribute("aria-invalid");
    fieldError(error, null);
    const request = body();
    if (!request) return;
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    button.disabled = true;
    try {
      const { run_id, seats } = /** @type {{ run_id: string,
        seats?: Array<{ sid: string, token: string, role: string }> }} */
        (
          await call("POST", "/v1/runs", { body: request })
        );
      showSeats(run_id, seats ?? []);
      options.started(run_id);
    } catch (err) {
      fieldError(error, `The run did not start: ${/** @type {Error} */ (err).message}`);
    } finally {
      button.disabled = false;
    }
  });

  return {
    /** Enables the "route to my seat" box when a seat is held. @param {boolean} seated */
    setSeated(seated) {
      useSeat.disabled = !seated;
    },
  };
}
