// @ts-check
/**
 * Blueprint templates for the start form. Each builds an inline Blueprint for the
 * seat that starts it (operator agents point at the seat's first role, or its sid).
 *
 * @module
 */

/**
 * @typedef {object} Template
 * @property {string} id
 * @property {string} name
 * @property {string} note
 * @property {unknown} initCtx
 * @property {string} [operatorKind]
 * @property {(who: string) => Record<string, unknown>} blueprint
 */

/** @type {Template[]} */
export const TEMPLATES = [
  {
    id: "echo-three",
    name: "Three echo steps",
    note: "Three in-process steps and an assign: a quick look at the timeline and ctx diff.",
    initCtx: { topic: "release notes" },
    blueprint: () => ({
      id: "tpl-echo-three",
      agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
      flow: {
        kind: "seq",
        children: [
          { kind: "step", ref: "echo", in: "$.topic", out: "$.draft" },
          { kind: "assign", at: "$.round", value: "1" },
          { kind: "step", ref: "echo", in: "concat('review ', $.topic)", out: "$.review" },
          { kind: "step", ref: "echo", in: '{"round": $.round}', out: "$.final" },
        ],
      },
    }),
  },
  {
    id: "by-hand",
    name: "A step done by hand",
    note: "One step is spawned to your seat: read its prompt and post the result.",
    initCtx: { task: "Write a haiku about queues" },
    blueprint: (who) => ({
      id: "tpl-by-hand",
      operators: [{ name: who }],
      agents: [{ name: "writer", kind: "operator", spec: { operator_ref: who } }],
      flow: { kind: "step", ref: "writer", in: "$.task", out: "$.result" },
    }),
  },
  {
    id: "approve-spawns",
    name: "Approve each spawn",
    note: "A gated step: approve it (or edit its input first), then do it by hand.",
    initCtx: { task: "Deploy build 42 to staging" },
    operatorKind: "main_ai",
    blueprint: (who) => ({
      id: "tpl-approve",
      operators: [{ name: who, kind: "main_ai" }],
      agents: [{ name: "deployer", kind: "operator", spec: { operator_ref: who } }],
      flow: { kind: "step", ref: "deployer", in: "$.task", out: "$.result" },
      spawner_hints: { layers: ["main_ai"] },
    }),
  },
  {
    id: "ask-form",
    name: "Ask with a form",
    note: "An ask node with a JSON Schema: the answer is a generated form.",
    initCtx: { change: "v2 pricing page" },
    blueprint: (who) => ({
      id: "tpl-ask-form",
      flow: {
        kind: "ask",
        to: who,
        question: "concat('Ship ', $.change, '?')",
        schema: {
          type: "object",
          required: ["approved"],
          properties: {
            approved: { type: "boolean", title: "Approved" },
            risk: { type: "string", title: "Risk", enum: ["low", "medium", "high"] },
            note: { type: "string", title: "Note", description: "Anything the team should know" },
          },
        },
        out: "$.decision",
      },
    }),
  },
];
