/**
 * The `directive` text of a `spawn` frame (reference/http.md §9.12), with the real
 * public base URL.
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

/** The text around the task id, by base URL, agent and alias (they are few). */
const templates = new Map<string, string[]>();
const TEMPLATES_MAX = 1024;
/** Stands for the task id while a template is made (no URL, agent or alias holds it). */
const HOLE = "\u0000task_id\u0000";

/** Renders the natural-language instructions for the operator that received a spawn. */
export function spawnDirective(options: DirectiveOptions): string {
  const { baseUrl, agent, taskId, alias } = options;
  const id = alias === undefined
    ? `${baseUrl}\u0000${agent}`
    : `${baseUrl}\u0000${agent}\u0000${alias}`;
  let parts = templates.get(id);
  if (parts === undefined) {
    if (id.includes(HOLE)) return render(options);
    parts = render({ baseUrl, agent, taskId: HOLE, alias }).split(HOLE);
    if (templates.size >= TEMPLATES_MAX) templates.clear();
    templates.set(id, parts);
  }
  return parts.join(taskId);
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
    "Start a sub-agent of type mse-worker (or general-purpose if that is unavailable). " +
      "Its prompt must be exactly four lines: " +
      `\`agent_id: ${agent}\`, \`worker_handle: <worker_handle>\`, \`base_url: ${base}\` and ` +
      `\`task_id: ${taskId}\`. The sub-agent fetches its prompt with the handle, POSTs its raw ` +
      "output to /v1/worker/submit with the handle, and answers with one word. Then send " +
      "`spawn_ack` with `value: {}` and `ok: true`. Do not fetch the prompt yourself and do not " +
      "wrap or summarise the sub-agent's reply. To observe the run, use GET " +
      `${base}/v1/runs/<run_id>.`,
  );
  return lines.join("\n");
}
