/**
 * The `directive` text of a `spawn` frame (reference/http.md §9.12), with the real
 * public base URL: the data-path block always (the data routes take the worker handle), and
 * the LDS session alias block when the Blueprint sets `metadata.project_name_alias`.
 *
 * @module
 */

/** What the directive names. */
export interface DirectiveOptions {
  baseUrl: string;
  agent: string;
  taskId: string;
  alias?: string;
}

/** A directive around its task id: as text, and as an ASCII-only JSON string literal. */
interface Template {
  parts: string[];
  json: string[];
}

/** Templates by base URL, agent and alias (they are few). */
const templates = new Map<string, Template | null>();
const TEMPLATES_MAX = 1024;
/** Stands for the task id while a template is made (no URL, agent or alias holds it). */
const HOLE = "\u0000task_id\u0000";
const NON_ASCII = /[\u007f-\uffff]/g;

/**
 * JSON.stringify of `text` with every character past ASCII written as a `\uXXXX`
 * escape: the same value once parsed, in a string of one byte per character
 * (the directive's `—` would make the whole frame text two bytes a character).
 */
export function asciiJson(text: string): string {
  return JSON.stringify(text).replace(
    NON_ASCII,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function templateOf(options: DirectiveOptions): Template | null {
  const { baseUrl, agent, alias } = options;
  const id = alias === undefined
    ? `${baseUrl}\u0000${agent}`
    : `${baseUrl}\u0000${agent}\u0000${alias}`;
  let template = templates.get(id);
  if (template === undefined) {
    const text = render({ baseUrl, agent, taskId: HOLE, alias });
    // null: a URL, agent or alias holding the hole itself is rendered each time
    template = id.includes(HOLE) ? null : {
      parts: text.split(HOLE),
      json: asciiJson(text).split(asciiJson(HOLE).slice(1, -1)),
    };
    if (templates.size >= TEMPLATES_MAX) templates.clear();
    templates.set(id, template);
  }
  return template;
}

/** Renders the natural-language instructions for the operator that received a spawn. */
export function spawnDirective(options: DirectiveOptions): string {
  return templateOf(options)?.parts.join(options.taskId) ?? render(options);
}

/** {@link spawnDirective} as {@link asciiJson} writes it. */
export function spawnDirectiveJson(options: DirectiveOptions): string {
  const template = templateOf(options);
  if (template === null) return asciiJson(render(options));
  return template.json.join(asciiJson(options.taskId).slice(1, -1));
}

function render({ baseUrl, agent, taskId, alias }: DirectiveOptions): string {
  const base = baseUrl.replace(/\/+$/, "");
  const lines = [
    `[agent_primitive dispatch=@${agent}]`,
    "worker endpoint:",
    `  GET  ${base}/v1/worker/prompt?task_id=${taskId}`,
    `  POST ${base}/v1/worker/submit`,
    "auth: Bearer <worker_handle of this spawn frame (the short wh-XXXXXXXX form)>",
    `task_id: ${taskId}`,
    `agent_id: ${agent}`,
  ];
  if (alias !== undefined) lines.push(`project_name_alias: ${alias}`);
  lines.push(
    "",
    "[Data path endpoint — MainAgent reminder]",
    `DATA_EMIT: ${base}/v1/data/emit  (POST, auth = Bearer worker_handle or ?token=)`,
    `DATA_GET:  ${base}/v1/data/<out_id|out_name>`,
    "",
  );
  if (alias !== undefined) {
    lines.push(
      "[LDS Session Alias Reminder — MainAI mandatory]",
      "Before you start the sub-agent below, call:",
      `  mcp__lds__session_create(root=<working_dir>, alias="${alias}")`,
      "(one task-level lds session; reuse it when this agent is dispatched again).",
      "Then add this literal line to the sub-agent's prompt:",
      `  LDS Session Alias: ${alias}`,
      `The sub-agent calls mcp__lds__session_start(alias="${alias}") when it starts.`,
      "",
    );
  }
  lines.push(
    "Start a sub-agent of type mse-worker (or general-purpose if that is unavailable). " +
      "Its prompt must be exactly four lines: " +
      `\`agent_id: ${agent}\`, \`worker_handle: <worker_handle>\`, \`base_url: ${base}\` and ` +
      `\`task_id: ${taskId}\`. The sub-agent fetches its prompt with the handle, POSTs its raw ` +
      "output to /v1/worker/submit with the handle, and answers with one word. Then send " +
      "`spawn_ack` with `value: {}` and `ok: true` (MCP: " +
      '`mse_ack(sid, req_id, kind="spawn_ack", ok=true)`, or `operator_reply` with this ' +
      "server's MCP operator). Do not fetch the prompt yourself and do not " +
      "wrap or summarise the sub-agent's reply. To observe the run, use GET " +
      `${base}/v1/runs/<run_id>.`,
  );
  return lines.join("\n");
}
