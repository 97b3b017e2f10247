/**
 * The markdown resources of the MCP server: the operator protocol and how to
 * use the tools.
 *
 * @module
 */

/** `switchboard://docs/operator-protocol` */
export const PROTOCOL_DOC = `# Switchboard operator protocol

You are an **operator seat** of a Switchboard server. Runs of blueprint flows reach
you with three kinds of request, each with a \`req_id\` of the form
\`<sid>-<ask|hb|spawn>-<uuid>\`. Every request waits for exactly one reply; the
first valid reply settles it and later ones are refused.

| request | when | reply with \`operator_reply\` |
|---|---|---|
| \`ask\` | a step reported \`ok: false\` and the run escalates to you (\`senior_escalation\` layer, \`operator.senior_bridge_id\` = your sid). \`question\` is \`{reason, value}\`. | \`value\`: any JSON. Any answer turns the step into a pass with value \`{original, senior_answer}\`; an object with \`"ok": false\` keeps it blocked. |
| \`hook_before\` | a step is about to spawn its worker (\`main_ai\` layer, \`operator.spawn_hook_id\` = your sid). | \`ok: true\` to approve, \`ok: false\` with a \`reason\` to veto (the step fails: "spawn rejected by middleware: <reason>"). |
| \`spawn\` | a step is delegated to you: an agent of kind \`operator\` whose \`spec.operator_ref\` is the \`name\` of an entry in the blueprint's \`operators\` list, where that name equals your sid or one of your roles (both are required: a name missing from \`operators\` is refused at registration, one no seat holds at run start); or the \`operator_delegate\` layer. See \`switchboard://docs/blueprint-guide\`. | \`worker_prompt\` reads the prompt and \`worker_submit\` posts the result and completes the spawn; or \`operator_reply\` with \`value\` and \`ok\` (default true), or \`error\` to fail the attempt. |

Two more things arrive without needing a reply, shown under \`events\` by
\`operator_pending\`:
- \`hook_after\`: the result of a finished spawn you gated.
- \`cancel {req_id, reason}\`: a request no longer wants a reply. \`reason\` is
  \`timeout\` (the run's TTL passed), \`run_ended\` or \`session_deleted\`.

Each pending item also carries \`context\` when the server sends it (the run, the
blueprint and the step input), and an \`ask\` may carry a JSON \`schema\` its answer
must match: \`operator_reply\` checks the value against it before sending.

## Spawns and workers
A \`spawn\` carries a \`capability_token\`, a short \`worker_handle\` (\`wh-…\`) and a
\`directive\` text. With no HTTP tool at hand, do it with two tools:
\`worker_prompt {handle}\` returns the prompt, and \`worker_submit {handle, value | text,
ok}\` posts the result and completes the spawn. A worker (you, or a sub-agent you
start) may instead use HTTP:
- \`GET /v1/worker/prompt?task_id=<task_id>\` with \`Authorization: Bearer <handle or token>\`
  to read the step's prompt;
- \`POST /v1/worker/submit[?ok=false]\` with the raw output as the body (same bearer);
- \`POST /v1/worker/result\` with \`{task_id, value, ok}\` (capability token only).
Then reply \`spawn_ack\` with \`value: {}\`; the posted result wins over the ack's value.

## Timing
Requests wait across disconnects and are replayed on reconnect, but never past the
run's deadline (\`ttl_secs\`). Reply promptly; a late reply to a cancelled request
is refused.
`;

/** `switchboard://docs/tools` */
export const TOOLS_DOC = `# Using the Switchboard tools

1. \`operator_join\` with the roles you play (for example \`["reviewer"]\`). It mints a
   seat and connects it; the answer holds your \`sid\` (the token stays inside this
   MCP server and is never shown). To take an existing seat, pass its \`sid\` and
   \`token\` instead; to reconnect the seat you minted here, pass only its \`sid\`.
2. \`run_start\` with a blueprint (a stored id such as \`"main"\`, or an inline
   document) and its \`init_ctx\`. With \`use_my_seat: true\` the run sends its
   asks, hooks and delegated spawns to your seat (it sets \`operator_sid\`,
   \`operator.senior_bridge_id\` and \`operator.spawn_hook_id\` to your sid; hooks
   also need the \`main_ai\` layer and operator kind \`main_ai\` or \`composite\`).
3. \`operator_pending\` lists the requests waiting for you (pass \`wait_secs\` to wait
   for the next one). Each entry says which reply it expects.
4. \`operator_reply\` with the \`req_id\` and:
   - for an \`ask\`: \`value\`;
   - for a \`hook_before\`: \`ok\` and, to veto, a \`reason\`;
   - for a \`spawn\`: \`value\` and \`ok\`, or \`error\` to fail it; or do the work with
     \`worker_prompt {handle}\` and \`worker_submit {handle, value | text}\`.
   It returns once the server has settled the reply. An \`ask\` with a \`schema\`
   is checked against it first; when your client supports MCP elicitation,
   \`operator_pending\` asks it for such answers as a form.
5. \`run_status\` with the \`run_id\` (and \`wait_secs\` to wait for the end) shows the
   status, the steps and, at the end, \`final_ctx\` or \`error\`.
6. Blueprints: read \`switchboard://docs/blueprint-guide\` for the flow grammar.

The connection reconnects by itself; replies you gave while it was down are sent
again and settle once.
`;
