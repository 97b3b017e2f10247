/**
 * The sweep's hostile blueprints (deep flows, huge fanouts, loops, expression
 * bombs, huge literals; registered and inline) and webhook steps against the
 * hostile worker of `_sweep_hook.ts`. Every run must end (it carries a TTL) and
 * every refusal must be a 4xx JSON answer.
 *
 * @module
 */
import { type Attack, hit, type Rng, type SweepContext } from "./_sweep.ts";

const MiB = 1024 * 1024;
const AGENT = { name: "id", kind: "rust_fn", spec: { fn_id: "identity" } };
const step = { kind: "step", ref: "id", in: "$.x", out: "$.y" };

function nest(depth: number, leaf: unknown, wrap: (inner: unknown) => unknown): unknown {
  let node = leaf;
  for (let i = 0; i < depth; i++) node = wrap(node);
  return node;
}

/** A hostile flow and the ctx it starts with. */
function hostileFlow(r: Rng): { flow: unknown; init: unknown; agents?: unknown[] } {
  const n = (xs: number[]) => r.pick(xs);
  switch (r.int(17)) {
    case 0: // deep seqs
      return {
        flow: nest(n([30, 63, 64, 65, 500, 20_000]), step, (c) => ({ kind: "seq", children: [c] })),
        init: { x: 1 },
      };
    case 1: // deep tries
      return {
        flow: nest(
          n([20, 40, 2_000]),
          step,
          (c) => ({ kind: "try", body: c, catch: { kind: "seq", children: [] } }),
        ),
        init: { x: 1 },
      };
    case 2: // nested fanouts: 100^k branches
      return {
        flow: nest(n([2, 3, 4]), { kind: "assign", at: "$.z", value: "$.i" }, (body) => ({
          kind: "fanout",
          items: "$.items",
          bind: "$.i",
          join: "all",
          out: "$.o",
          body,
        })),
        init: { items: Array.from({ length: n([100, 1_000]) }, (_, i) => i) },
      };
    case 3: // a loop of every size, doubling a string
      return {
        flow: {
          kind: "loop",
          counter: "$.i",
          cond: "true",
          max: n([64, 4_294_967_295]),
          body: { kind: "assign", at: "$.s", value: "concat($.s, $.s)" },
        },
        init: { s: "ab" },
      };
    case 4: // nested loops
      return {
        flow: nest(n([2, 3, 5]), { kind: "assign", at: "$.z", value: "[$.z, $.z]" }, (body) => ({
          kind: "loop",
          counter: `$.c${r.int(1e6)}`,
          cond: "true",
          max: 1_000,
          body,
        })),
        init: { z: 0 },
      };
    case 5: // expression text bombs
      return {
        flow: {
          kind: "assign",
          at: "$.y",
          value: r.pick([
            "(".repeat(n([63, 65, 5_000, 200_000])) + "1" + ")".repeat(5_000),
            "!".repeat(n([63, 65, 100_000])) + "true",
            "-".repeat(n([63, 65, 100_000])) + "1",
            "1+".repeat(n([255, 511, 513, 50_000])) + "1",
            "[".repeat(n([63, 65, 10_000])) + "]".repeat(10_000),
            "concat(" + "$.x,".repeat(n([500, 5_000])) + "$.x)",
            "len(".repeat(70) + "$.x" + ")".repeat(70),
            "if(" + "true,".repeat(3_000) + "1)",
            "$" + ".a".repeat(n([100, 50_000])),
            "$" + "[0]".repeat(n([100, 50_000])),
            "'" + "\\u".repeat(1_000) + "'",
            "9".repeat(100_000),
            "1e308 * 1e308",
            "1 / 0",
          ]),
        },
        init: { x: "x".repeat(1_000) },
      };
    case 6: // expression trees, deep
      return {
        flow: {
          kind: "assign",
          at: "$.y",
          value: nest(
            n([63, 64, 65, 3_000]),
            { op: "lit", value: 1 },
            (c) => ({ op: "not", operand: c }),
          ),
        },
        init: {},
      };
    case 7: // a literal just under the body limit
      return {
        flow: { kind: "assign", at: "$.y", value: { op: "lit", value: "L".repeat(2 * MiB - 400) } },
        init: {},
      };
    case 8: // huge init ctx, copied by a step: a wide array, or a distinct 1.9 MB string
      return {
        flow: step,
        init: r.chance(0.5)
          ? { x: Array.from({ length: 150_000 }, (_, i) => i) }
          : { x: `${r.next()}`.padEnd(1_900_000, "x") },
      };
    case 9: // a fanout of 100,000 items
      return {
        flow: {
          kind: "fanout",
          items: "$.items",
          bind: "$.i",
          join: r.pick(["all", "any", "race", "all_settled"]),
          out: "$.o",
          body: step,
        },
        init: { items: Array.from({ length: 100_000 }, () => 0) },
      };
    case 10: // a fanout built by a loop: the item count grows past the cap
      return {
        flow: {
          kind: "seq",
          children: [
            {
              kind: "loop",
              counter: "$.i",
              cond: "true",
              max: 20,
              body: { kind: "assign", at: "$.a", value: "concat($.a, $.a)" },
            },
            { kind: "fanout", items: "$.a", bind: "$.x", join: "all", out: "$.o", body: step },
          ],
        },
        init: { a: [1] },
      };
    case 11: // many agents
      return {
        flow: step,
        init: { x: 1 },
        agents: [
          AGENT,
          ...Array.from(
            { length: 20_000 },
            (_, i) => ({ name: `a${i}`, kind: "rust_fn", spec: { fn_id: "identity" } }),
          ),
        ],
      };
    case 12: // unknown and forbidden kinds, bad refs
      return {
        flow: r.pick([
          { kind: "step", ref: "nope", in: "$.x", out: "$.y" },
          { kind: "call", ref: "id" },
          { kind: "step", ref: "id", in: "$.x", out: "'not a path'" },
          { kind: "branch", cond: "$.x", then: step, else: step },
          { kind: "loop", counter: "$", cond: "true", max: 3, body: step },
          { kind: "fanout", items: "$.x", bind: "$", join: "all", out: "$", body: step },
          { kind: "assign", at: "$.__proto__.polluted", value: "1" },
          { kind: "assign", at: "$.constructor.prototype.x", value: "1" },
          { kind: "assign", at: "$['__proto__']", value: '{"a": 1}' },
        ]),
        init: { x: 1 },
        agents: r.pick([
          [AGENT],
          [AGENT, { name: "lua", kind: "lua", spec: { fn_id: "x" } }],
          [AGENT, { name: "sub", kind: "subprocess", spec: { cmd: "/bin/sh" } }],
          [AGENT, { name: "ab", kind: "agent_block", spec: { script_path: "/etc/passwd" } }],
          [AGENT, AGENT],
        ]),
      };
    case 13: // a ctx whose keys are hostile
      return {
        flow: { kind: "seq", children: [step, { kind: "assign", at: "$.k", value: "len($)" }] },
        init: JSON.parse('{"__proto__":{"x":1},"constructor":{"prototype":{}},"x":"\\ud800"}'),
      };
    case 14: // a huge branch ctx per item
      return {
        flow: {
          kind: "fanout",
          items: "$.items",
          bind: "$.i",
          join: "all_settled",
          out: "$.o",
          body: { kind: "assign", at: "$.copy", value: "$.blob" },
        },
        init: { items: Array.from({ length: 1_000 }, (_, i) => i), blob: "b".repeat(1_000_000) },
      };
    case 15: { // expression cost: values of MB read by each of 500 nodes, or printed in an error
      const four = (at: string) => ({ op: "array", items: [at, at, at, at] });
      const paths = (at: string) => Array.from({ length: 500 }, () => at);
      return {
        flow: {
          kind: "seq",
          children: [
            { kind: "assign", at: "$.a4", value: four("$.a") },
            { kind: "assign", at: "$.a16", value: four("$.a4") },
            { kind: "assign", at: "$.b4", value: four("$.b") },
            { kind: "assign", at: "$.b16", value: four("$.b4") },
            {
              kind: "assign",
              at: "$.y",
              value: r.pick<unknown>([
                {
                  op: "lt",
                  lhs: { op: "array", items: paths("$.a16") },
                  rhs: { op: "lit", value: 1 },
                },
                {
                  op: "and",
                  operands: Array.from(
                    { length: 160 },
                    () => ({ op: "eq", lhs: "$.a16", rhs: "$.b16" }),
                  ),
                },
                {
                  op: "or",
                  operands: Array.from(
                    { length: 160 },
                    () => ({
                      op: "eq",
                      lhs: { op: "len", of: "$.o" },
                      rhs: { op: "lit", value: -1 },
                    }),
                  ),
                },
                { op: "exists", at: "$." + "p".repeat(n([8_000, 1_000_000])) },
              ]),
            },
          ],
        },
        init: {
          a: new Array(100_000).fill(0),
          b: new Array(100_000).fill(0),
          o: Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 0])),
        },
      };
    }
    default: // a template bomb in an operator agent's system prompt
      return {
        flow: { kind: "step", ref: "op", in: "$.x", out: "$.y" },
        init: { x: Array.from({ length: 1_000 }, (_, i) => i) },
        agents: [{
          name: "op",
          kind: "operator",
          spec: { operator_ref: "main_ai" },
          profile: {
            system_prompt: r.pick([
              "{% for a in x %}{% for b in x %}{% for c in x %}{{ a }}{% endfor %}{% endfor %}{% endfor %}",
              "{{ x | tojson }}".repeat(5_000),
              "{% if ".repeat(5_000),
              "{{ " + "(".repeat(10_000) + "1" + ")".repeat(10_000) + " }}",
              "{%if 1%}".repeat(14_000) + "{%endif%}".repeat(14_000),
              "{% for a in x %}{% if x == x|tojson %}{{ x|tojson|length }}{% endif %}{% endfor %}",
            ]),
          },
        }],
      };
  }
}

/** Waits (bounded) for a run to end; a run still running at its TTL plus slack is a finding. */
async function awaitRun(ctx: SweepContext, input: string, runId: string, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !ctx.signal.aborted) {
    const res = await hit(ctx, `${input} (GET run)`, `${ctx.base}/v1/runs/${runId}`, {});
    if (!res || res.status !== 200) return;
    const status = JSON.parse(res.text).status;
    if (status !== "running") return status as string;
    await new Promise((r) => setTimeout(r, 200));
  }
  ctx.finding("run did not end", input, `${runId} still running after ${ms} ms`);
  await hit(ctx, `${input} (cancel)`, `${ctx.base}/v1/runs/${runId}`, { method: "DELETE" });
}

async function startRun(ctx: SweepContext, input: string, body: unknown) {
  const text = JSON.stringify(body);
  const res = await hit(ctx, `${input} ${text.length}B`, `${ctx.base}/v1/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: text,
  });
  if (res?.status === 202) {
    await awaitRun(ctx, input, JSON.parse(res.text).run_id, (ctx.ttlSecs + 10) * 1000);
  }
}

export const flowAttacks: Record<string, Attack> = {
  async "flow inline"(ctx) {
    const { flow, init, agents } = hostileFlow(ctx.rng);
    const value = { id: "hostile", agents: agents ?? [AGENT], flow };
    await startRun(ctx, `inline ${JSON.stringify(flow).slice(0, 100)}`, {
      blueprint: { kind: "inline", value },
      init_ctx: init,
      ttl_secs: ctx.ttlSecs,
    });
  },
  async "flow registered"(ctx) {
    const { flow, init, agents } = hostileFlow(ctx.rng);
    const id = `fuzz-${ctx.rng.int(50)}`;
    const doc = JSON.stringify({
      id,
      agents: agents ?? [AGENT],
      flow,
      metadata: { default_run_ttl_secs: ctx.ttlSecs },
    });
    const input = `register ${id} ${doc.slice(0, 100)}`;
    const res = await hit(ctx, `${input} ${doc.length}B`, `${ctx.base}/v1/blueprints/${id}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: doc,
    });
    if (res?.status !== 200 && res?.status !== 201) return;
    await startRun(ctx, input, {
      blueprint: { kind: "id", id, version: { kind: "latest" } },
      init_ctx: init,
    });
  },
  async "flow webhook"(ctx) {
    if (ctx.hooks.length === 0) return;
    const fn = ctx.rng.pick(ctx.hooks);
    const fanout = ctx.rng.chance(0.3);
    const hookStep = { kind: "step", ref: "hook", in: "$.x", out: "$.y" };
    await startRun(ctx, `webhook ${fn}${fanout ? " x20" : ""}`, {
      blueprint: {
        kind: "inline",
        value: {
          id: "hostile-hook",
          agents: [{ name: "hook", kind: "rust_fn", spec: { fn_id: fn } }],
          flow: fanout
            ? {
              kind: "fanout",
              items: "$.items",
              bind: "$.x",
              join: "all_settled",
              out: "$.o",
              body: hookStep,
            }
            : hookStep,
        },
      },
      init_ctx: { x: "do it", items: Array.from({ length: 20 }, (_, i) => i) },
      ttl_secs: ctx.ttlSecs,
    });
  },
};
