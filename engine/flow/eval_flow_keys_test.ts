import assert from "node:assert/strict";
import type { FlowNodeInput } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { type Dispatch, evalFlow, StepError } from "./mod.ts";
import { FIXTURE_B } from "./_fixtures.ts";
import { fixtureDispatch, norm } from "./_testing.ts";

const step = (ref: string): FlowNodeInput => ({ kind: "step", ref, in: "$", out: `$.${ref}` });

async function keysOf(
  flow: FlowNodeInput,
  ctx: Json = {},
  failing: string[] = [],
): Promise<string[]> {
  const keys: string[] = [];
  const dispatch: Dispatch = async ({ ref, key }) => {
    keys.push(`${ref} ${key}`);
    await Promise.resolve();
    if (failing.includes(ref)) throw new StepError(`blocked: "${ref}"`);
    return ref;
  };
  await evalFlow(norm(flow), ctx, { dispatch });
  return keys;
}

Deno.test("step keys of fixture B carry the loop iteration after /body", async () => {
  const { dispatch, calls } = fixtureDispatch(FIXTURE_B.agent_returns);
  await evalFlow(norm(FIXTURE_B.flow), FIXTURE_B.init_ctx, { dispatch });
  assert.deepEqual(calls.map((c) => `${c.ref} ${c.key}`), [
    "planner /children/0",
    "resolver /children/1/body~0/children/0",
    "gate /children/1/body~0/children/1",
    "resolver /children/1/body~1/children/0",
    "gate /children/1/body~1/children/1",
    "resolver /children/1/body~2/children/0",
    "gate /children/1/body~2/children/1",
    "escalator /children/2/else/children/0",
  ]);
});

Deno.test("a root step has the key /", async () => {
  assert.deepEqual(await keysOf(step("only")), ["only /"]);
});

Deno.test("step keys name then/else, try body/catch and fanout items", async () => {
  const flow: FlowNodeInput = {
    kind: "seq",
    children: [
      { kind: "branch", cond: "true", then: step("t"), else: step("e") },
      { kind: "try", body: step("bad"), catch: step("c") },
      { kind: "fanout", items: "[1, 2]", bind: "$.item", body: step("f"), join: "all", out: "$.o" },
    ],
  };
  const keys = await keysOf(flow, {}, ["bad"]);
  assert.deepEqual(keys.slice(0, 3), [
    "t /children/0/then",
    "bad /children/1/body",
    "c /children/1/catch",
  ]);
  assert.deepEqual(keys.slice(3).sort(), ["f /children/2/body~0", "f /children/2/body~1"]);
});

Deno.test("step keys nest loop and fanout suffixes and stay unique", async () => {
  const flow: FlowNodeInput = {
    kind: "loop",
    counter: "$.n",
    cond: "true",
    max: 2,
    body: {
      kind: "fanout",
      items: "['a', 'b']",
      bind: "$.item",
      join: "all_settled",
      out: "$.o",
      body: {
        kind: "seq",
        children: [
          {
            kind: "fanout",
            items: "[1]",
            bind: "$.inner",
            join: "all",
            out: "$.p",
            body: { kind: "try", body: step("x"), catch: step("y") },
          },
          step("z"),
        ],
      },
    },
  };
  const keys = await keysOf(flow, {}, ["x"]);
  assert.deepEqual(keys.sort(), [
    "x /body~0/body~0/children/0/body~0/body",
    "x /body~0/body~1/children/0/body~0/body",
    "x /body~1/body~0/children/0/body~0/body",
    "x /body~1/body~1/children/0/body~0/body",
    "y /body~0/body~0/children/0/body~0/catch",
    "y /body~0/body~1/children/0/body~0/catch",
    "y /body~1/body~0/children/0/body~0/catch",
    "y /body~1/body~1/children/0/body~0/catch",
    "z /body~0/body~0/children/1",
    "z /body~0/body~1/children/1",
    "z /body~1/body~0/children/1",
    "z /body~1/body~1/children/1",
  ]);
});

Deno.test("step keys are the same when a run is evaluated again", async () => {
  const first = await keysOf(FIXTURE_B.flow, FIXTURE_B.init_ctx);
  const second = await keysOf(FIXTURE_B.flow, FIXTURE_B.init_ctx);
  assert.deepEqual(first, second);
  assert.equal(new Set(first).size, first.length);
});
