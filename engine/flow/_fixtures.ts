/**
 * The test fixtures of reference/blueprint.md §5.1–§5.3, verbatim (each flow is
 * the fixture Blueprint's `flow`), with their expected calls and final ctx.
 * Used by this folder's tests and by the HTTP fixture tests in tests/engine.
 *
 * @module
 */
import type { FlowNodeInput } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";

/** A §5.0 fixture, reduced to what the flow evaluator sees. */
export type Fixture = {
  name: string;
  flow: FlowNodeInput;
  init_ctx: Json;
  agent_returns: Record<string, { ok: boolean; value: Json }>;
  expected_calls?: { ref: string; directive: string }[];
  expected_calls_unordered?: { ref: string; directive: string }[];
  expected_final_ctx: Json;
};

export const FIXTURE_A: Fixture = {
  "name": "A-single-step",
  "init_ctx": {
    "request": {
      "name": "world",
      "lang": "en",
    },
  },
  "agent_returns": {
    "greeter": {
      "ok": true,
      "value": "hello world",
    },
  },
  "expected_calls": [
    {
      "ref": "greeter",
      "directive": '{"lang":"en","name":"world"}',
    },
  ],
  "expected_final_ctx": {
    "request": {
      "name": "world",
      "lang": "en",
    },
    "result": {
      "greeting": "hello world",
    },
  },
  "flow": {
    "kind": "step",
    "ref": "greeter",
    "in": {
      "op": "path",
      "at": "$.request",
    },
    "out": {
      "op": "path",
      "at": "$.result.greeting",
    },
  },
};

export const FIXTURE_B: Fixture = {
  "name": "B-verdict-loop",
  "init_ctx": {
    "issue": "fix the login bug",
  },
  "agent_returns": {
    "planner": {
      "ok": true,
      "value": "PLAN_OK",
    },
    "resolver": {
      "ok": true,
      "value": "FIX_OK",
    },
    "gate": {
      "ok": true,
      "value": "BLOCKED",
    },
    "merger": {
      "ok": true,
      "value": "COMMITTED",
    },
    "escalator": {
      "ok": true,
      "value": "ESCALATED",
    },
  },
  "expected_calls": [
    {
      "ref": "planner",
      "directive": "fix the login bug",
    },
    {
      "ref": "resolver",
      "directive": "PLAN_OK",
    },
    {
      "ref": "gate",
      "directive": "FIX_OK",
    },
    {
      "ref": "resolver",
      "directive": "PLAN_OK",
    },
    {
      "ref": "gate",
      "directive": "FIX_OK",
    },
    {
      "ref": "resolver",
      "directive": "PLAN_OK",
    },
    {
      "ref": "gate",
      "directive": "FIX_OK",
    },
    {
      "ref": "escalator",
      "directive": "FIX_OK",
    },
  ],
  "expected_final_ctx": {
    "issue": "fix the login bug",
    "plan": "PLAN_OK",
    "n": 3,
    "fix": "FIX_OK",
    "verdict": "BLOCKED",
    "escalated": "ESCALATED",
    "attempts": 3,
  },
  "flow": {
    "kind": "seq",
    "children": [
      {
        "kind": "step",
        "ref": "planner",
        "in": {
          "op": "path",
          "at": "$.issue",
        },
        "out": {
          "op": "path",
          "at": "$.plan",
        },
      },
      {
        "kind": "loop",
        "counter": {
          "op": "path",
          "at": "$.n",
        },
        "max": 3,
        "cond": {
          "op": "or",
          "operands": [
            {
              "op": "not",
              "operand": {
                "op": "exists",
                "at": "$.verdict",
              },
            },
            {
              "op": "eq",
              "lhs": {
                "op": "path",
                "at": "$.verdict",
              },
              "rhs": {
                "op": "lit",
                "value": "BLOCKED",
              },
            },
          ],
        },
        "body": {
          "kind": "seq",
          "children": [
            {
              "kind": "step",
              "ref": "resolver",
              "in": {
                "op": "path",
                "at": "$.plan",
              },
              "out": {
                "op": "path",
                "at": "$.fix",
              },
            },
            {
              "kind": "step",
              "ref": "gate",
              "in": {
                "op": "path",
                "at": "$.fix",
              },
              "out": {
                "op": "path",
                "at": "$.verdict",
              },
            },
          ],
        },
      },
      {
        "kind": "branch",
        "cond": {
          "op": "in",
          "needle": {
            "op": "path",
            "at": "$.verdict",
          },
          "haystack": {
            "op": "lit",
            "value": [
              "PASS",
              "ALLOW",
            ],
          },
        },
        "then": {
          "kind": "step",
          "ref": "merger",
          "in": {
            "op": "path",
            "at": "$.fix",
          },
          "out": {
            "op": "path",
            "at": "$.commit",
          },
        },
        "else": {
          "kind": "seq",
          "children": [
            {
              "kind": "step",
              "ref": "escalator",
              "in": {
                "op": "path",
                "at": "$.fix",
              },
              "out": {
                "op": "path",
                "at": "$.escalated",
              },
            },
            {
              "kind": "assign",
              "at": {
                "op": "path",
                "at": "$.attempts",
              },
              "value": {
                "op": "path",
                "at": "$.n",
              },
            },
          ],
        },
      },
    ],
  },
};

export const FIXTURE_C: Fixture = {
  "name": "C-fanout-try",
  "init_ctx": {
    "topics": [
      "a",
      "b",
    ],
  },
  "agent_returns": {
    "researcher": {
      "ok": true,
      "value": "NOTE",
    },
    "reviewer": {
      "ok": false,
      "value": "NO",
    },
  },
  "expected_calls_unordered": [
    {
      "ref": "researcher",
      "directive": "a",
    },
    {
      "ref": "researcher",
      "directive": "b",
    },
    {
      "ref": "reviewer",
      "directive": "NOTE",
    },
  ],
  "expected_final_ctx": {
    "topics": [
      "a",
      "b",
    ],
    "notes": [
      {
        "topics": [
          "a",
          "b",
        ],
        "topic": "a",
        "note": "NOTE",
        "review": "AUTO_OK",
      },
      {
        "topics": [
          "a",
          "b",
        ],
        "topic": "b",
        "error": "dispatcher error for ref 'reviewer': blocked: \"NO\"",
        "review": "SKIPPED",
      },
    ],
    "note_count": 2,
  },
  "flow": {
    "kind": "seq",
    "children": [
      {
        "kind": "fanout",
        "items": {
          "op": "path",
          "at": "$.topics",
        },
        "bind": {
          "op": "path",
          "at": "$.topic",
        },
        "join": "all",
        "out": {
          "op": "path",
          "at": "$.notes",
        },
        "body": {
          "kind": "try",
          "body": {
            "kind": "seq",
            "children": [
              {
                "kind": "step",
                "ref": "researcher",
                "in": {
                  "op": "path",
                  "at": "$.topic",
                },
                "out": {
                  "op": "path",
                  "at": "$.note",
                },
              },
              {
                "kind": "branch",
                "cond": {
                  "op": "eq",
                  "lhs": {
                    "op": "path",
                    "at": "$.topic",
                  },
                  "rhs": {
                    "op": "lit",
                    "value": "b",
                  },
                },
                "then": {
                  "kind": "step",
                  "ref": "reviewer",
                  "in": {
                    "op": "path",
                    "at": "$.note",
                  },
                  "out": {
                    "op": "path",
                    "at": "$.review",
                  },
                },
                "else": {
                  "kind": "assign",
                  "at": {
                    "op": "path",
                    "at": "$.review",
                  },
                  "value": {
                    "op": "lit",
                    "value": "AUTO_OK",
                  },
                },
              },
            ],
          },
          "catch": {
            "kind": "assign",
            "at": {
              "op": "path",
              "at": "$.review",
            },
            "value": {
              "op": "lit",
              "value": "SKIPPED",
            },
          },
          "err_at": {
            "op": "path",
            "at": "$.error",
          },
        },
      },
      {
        "kind": "assign",
        "at": {
          "op": "path",
          "at": "$.note_count",
        },
        "value": {
          "op": "len",
          "of": {
            "op": "path",
            "at": "$.notes",
          },
        },
      },
    ],
  },
};

export const FIXTURE_C2_FANOUT: FlowNodeInput = {
  "kind": "fanout",
  "items": {
    "op": "path",
    "at": "$.topics",
  },
  "bind": {
    "op": "path",
    "at": "$.topic",
  },
  "join": "all_settled",
  "out": {
    "op": "path",
    "at": "$.settled",
  },
  "body": {
    "kind": "seq",
    "children": [
      {
        "kind": "step",
        "ref": "researcher",
        "in": {
          "op": "path",
          "at": "$.topic",
        },
        "out": {
          "op": "path",
          "at": "$.note",
        },
      },
      {
        "kind": "branch",
        "cond": {
          "op": "eq",
          "lhs": {
            "op": "path",
            "at": "$.topic",
          },
          "rhs": {
            "op": "lit",
            "value": "b",
          },
        },
        "then": {
          "kind": "step",
          "ref": "reviewer",
          "in": {
            "op": "path",
            "at": "$.note",
          },
          "out": {
            "op": "path",
            "at": "$.review",
          },
        },
        "else": {
          "kind": "assign",
          "at": {
            "op": "path",
            "at": "$.review",
          },
          "value": {
            "op": "lit",
            "value": "AUTO_OK",
          },
        },
      },
    ],
  },
};

export const FIXTURE_C2_FINAL_CTX: Json = {
  "topics": [
    "a",
    "b",
  ],
  "settled": [
    {
      "status": "fulfilled",
      "value": {
        "topics": [
          "a",
          "b",
        ],
        "topic": "a",
        "note": "NOTE",
        "review": "AUTO_OK",
      },
    },
    {
      "status": "rejected",
      "reason": "dispatcher error for ref 'reviewer': blocked: \"NO\"",
    },
  ],
  "settled_count": 2,
};

/** Fixture B2: B with the gate answering PASS, so the loop ends after one iteration. */
export const FIXTURE_B2_RETURNS: Fixture["agent_returns"] = {
  ...FIXTURE_B.agent_returns,
  gate: { ok: true, value: "PASS" },
};
export const FIXTURE_B2_CALLS: NonNullable<Fixture["expected_calls"]> = [
  { ref: "planner", directive: "fix the login bug" },
  { ref: "resolver", directive: "PLAN_OK" },
  { ref: "gate", directive: "FIX_OK" },
  { ref: "merger", directive: "FIX_OK" },
];
export const FIXTURE_B2_FINAL_CTX: Json = {
  issue: "fix the login bug",
  plan: "PLAN_OK",
  n: 1,
  fix: "FIX_OK",
  verdict: "PASS",
  commit: "COMMITTED",
};
