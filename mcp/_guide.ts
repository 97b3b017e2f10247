/**
 * `switchboard://docs/blueprint-guide`: how to write a blueprint. Every
 * ```json block in it is a complete blueprint, and a test registers each one.
 *
 * @module
 */

/** `switchboard://docs/blueprint-guide` */
export const BLUEPRINT_GUIDE = `# Writing a Switchboard blueprint

A blueprint is a JSON document: \`id\`, the \`agents\` that do the work, a \`flow\`
(the program), and optionally \`operators\`, \`spawner_hints\` and \`metadata\`.
Unknown keys are errors. Pass it inline to \`run_start\` (\`blueprint: {…}\`) or store
it with \`POST /v1/blueprints/<id>\` and start it by id.

A run owns one JSON document, **ctx**, which starts as \`init_ctx\`. Nodes read ctx
through expressions and write it at paths.

## Agents

| kind | spec | what runs |
|---|---|---|
| \`rust_fn\` | \`{"fn_id": "identity"}\` | an in-process function (\`identity\` is always there) |
| \`operator\` | \`{"operator_ref": "<name in operators>"}\` | an operator seat gets a \`spawn\` and does the work |

### operators and operator_ref

\`spec.operator_ref\` of an \`operator\` agent must be the \`name\` of an entry in the
blueprint's **\`operators\`** list; otherwise registration fails with
\`operator_ref '<x>' does not match any OperatorDef.name\`. When the run starts, that
name must also reach a live seat: a seat whose **sid** or one of whose **roles**
equals it. So to route an agent to your seat with role \`reviewer\`:

\`\`\`json
{
  "id": "review-by-role",
  "operators": [{ "name": "reviewer" }],
  "agents": [{ "name": "review", "kind": "operator", "spec": { "operator_ref": "reviewer" } }],
  "flow": { "kind": "step", "ref": "review", "in": "$.text", "out": "$.review" }
}
\`\`\`

Join with \`operator_join {roles: ["reviewer"]}\` first, then \`run_start\` with
\`init_ctx: {"text": "…"}\`. The spawn's prompt is the step input (\`worker_prompt\`);
answer it with \`worker_submit\`. An OperatorDef may also carry \`kind\` (\`main_ai\`,
\`automate\`, \`composite\`), which picks the operator kind for its agents.

## Paths and expressions

A **path** is \`$\` (the whole ctx), \`$.a.b\`, \`$["key with-dash"]\`, or \`$.list[0]\`
(indexes only for reading). Writes create missing objects on the way.

Wherever an expression is expected you may write a **string in the text syntax**
or the JSON tree. In the text syntax a bare string is code, so quote literal text
inside it: \`"'ship it'"\` is the text *ship it*, \`"$.x"\` is a path.

| text | meaning |
|---|---|
| \`$.a\`, \`'text'\`, \`42\`, \`true\`, \`null\`, \`[1, $.x]\`, \`{"k": $.v}\` | path, literals, array, object |
| \`== != < <= > >=\`, \`a in [..]\` | comparisons (numbers only for \`<\` …), membership |
| \`&& \\|\\| !\` | logic (\`null\` and \`false\` are falsy; \`0\`, \`""\`, \`[]\` are truthy) |
| \`+ - * /\` | arithmetic on numbers |
| \`exists($.p)\`, \`len(e)\`, \`if(c, a, b)\`, \`coalesce(a, b)\`, \`concat(a, b)\` | calls |

The tree form of \`$.n < 3\` is
\`{"op":"lt","lhs":{"op":"path","at":"$.n"},"rhs":{"op":"lit","value":3}}\`.
Write targets (\`out\`, \`at\`, \`counter\`, \`bind\`, \`err_at\`) must be paths.

## Flow nodes

**step** \`{kind, ref, in, out}\`: evaluates \`in\`, runs agent \`ref\` with it (a string
input is the prompt as is; anything else is its compact JSON), writes the result at
\`out\`.

\`\`\`json
{
  "id": "one-step",
  "agents": [{ "name": "echo", "kind": "rust_fn", "spec": { "fn_id": "identity" } }],
  "flow": { "kind": "step", "ref": "echo", "in": "$.topic", "out": "$.echo" }
}
\`\`\`

**seq** \`{kind, children}\` runs its children in order; **assign** \`{kind, at, value}\`
writes a value without running anything.

\`\`\`json
{
  "id": "draft-then-review",
  "operators": [{ "name": "reviewer" }],
  "agents": [
    { "name": "draft", "kind": "rust_fn", "spec": { "fn_id": "identity" } },
    { "name": "review", "kind": "operator", "spec": { "operator_ref": "reviewer" } }
  ],
  "flow": { "kind": "seq", "children": [
    { "kind": "assign", "at": "$.round", "value": "1" },
    { "kind": "step", "ref": "draft", "in": "$.topic", "out": "$.draft" },
    { "kind": "step", "ref": "review", "in": "{\\"draft\\": $.draft, \\"round\\": $.round}", "out": "$.review" }
  ] }
}
\`\`\`

**branch** \`{kind, cond, then, else}\`: \`cond\` must be exactly \`true\` or \`false\`;
both arms are required (\`{"kind":"seq","children":[]}\` does nothing).

**loop** \`{kind, counter, cond, body, max}\`: writes 0 at \`counter\`, then while the
counter is below \`max\` and \`cond\` is truthy runs \`body\` and bumps the counter.

\`\`\`json
{
  "id": "until-approved",
  "operators": [{ "name": "reviewer" }],
  "agents": [
    { "name": "fix", "kind": "rust_fn", "spec": { "fn_id": "identity" } },
    { "name": "gate", "kind": "operator", "spec": { "operator_ref": "reviewer" } }
  ],
  "flow": { "kind": "seq", "children": [
    { "kind": "loop", "counter": "$.n", "max": 3,
      "cond": "!exists($.verdict) || $.verdict != 'PASS'",
      "body": { "kind": "seq", "children": [
        { "kind": "step", "ref": "fix", "in": "$.issue", "out": "$.fix" },
        { "kind": "step", "ref": "gate", "in": "$.fix", "out": "$.verdict" }
      ] } },
    { "kind": "branch", "cond": "$.verdict == 'PASS'",
      "then": { "kind": "assign", "at": "$.shipped", "value": "true" },
      "else": { "kind": "assign", "at": "$.gave_up_after", "value": "$.n" } }
  ] }
}
\`\`\`

**fanout** \`{kind, items, bind, body, join, out}\`: runs \`body\` once per item of the
array \`items\`, concurrently, each on a private copy of ctx with the item at \`bind\`.
\`join\` is \`all\` (array of branch ctxs; first failure fails), \`any\` (first success),
\`race\` (first to settle) or \`all_settled\` (\`{status, value|reason}\` per item). Only
the joined result is written, at \`out\`.

**try** \`{kind, body, catch, err_at?}\`: if \`body\` fails, ctx is rolled back to
before it, the error text is written at \`err_at\`, and \`catch\` runs.

\`\`\`json
{
  "id": "fan-and-catch",
  "agents": [{ "name": "check", "kind": "rust_fn", "spec": { "fn_id": "identity" } }],
  "flow": { "kind": "try",
    "body": { "kind": "fanout", "items": "$.files", "bind": "$.file", "join": "all",
      "body": { "kind": "step", "ref": "check", "in": "$.file", "out": "$.checked" },
      "out": "$.results" },
    "catch": { "kind": "assign", "at": "$.results", "value": "[]" },
    "err_at": "$.error" }
}
\`\`\`

**ask** \`{kind, to, question, schema?, timeout_secs?, on_timeout?, out}\`: asks the
seat holding role (or sid) \`to\` a question and writes the answer at \`out\`. With a
JSON Schema the answer is checked (an invalid answer is refused and the ask stays
pending); a flat object of string, number, integer and boolean properties with
titles is shown to MCP agents as a form. \`on_timeout\` is \`{"kind":"fail"}\`,
\`{"kind":"default","value":…}\` or \`{"kind":"escalate","to":"<role>"}\`.

\`\`\`json
{
  "id": "ask-for-approval",
  "agents": [{ "name": "plan", "kind": "rust_fn", "spec": { "fn_id": "identity" } }],
  "flow": { "kind": "seq", "children": [
    { "kind": "step", "ref": "plan", "in": "$.change", "out": "$.plan" },
    { "kind": "ask", "to": "reviewer", "question": "concat('Ship ', $.change, '?')",
      "schema": { "type": "object", "required": ["approved"], "properties": {
        "approved": { "type": "boolean", "title": "Approved" },
        "note": { "type": "string", "title": "Note" } } },
      "timeout_secs": 600, "on_timeout": { "kind": "default", "value": { "approved": false } },
      "out": "$.decision" }
  ] }
}
\`\`\`

## Operators in the loop (layers)

\`spawner_hints.layers\` adds operator gates around every step, last one outermost:
- \`main_ai\`: a \`hook_before\` to the run's \`operator.spawn_hook_id\` seat before each
  spawn (approve, veto, or approve with an edited input), and a \`hook_after\` after it;
  the operator kind must be \`main_ai\` or \`composite\`.
- \`senior_escalation\`: a step that ends \`ok: false\` becomes an \`ask\` to
  \`operator.senior_bridge_id\`; any answer passes it as \`{original, senior_answer}\`.
- \`operator_delegate\`: steps are executed by the run's operator backend seat.

\`run_start\` with \`use_my_seat: true\` points all of these at your seat.

## Common errors
- \`operator_ref '<x>' does not match any OperatorDef.name\`: add \`{"name": "<x>"}\` to
  \`operators\`.
- \`operator_ref '<x>' not registered in factory\` when starting: no seat holds that
  role or sid right now; \`operator_join\` with that role first.
- \`expression syntax error at N\`: a literal string needs inner quotes (\`"'text'"\`).
`;
