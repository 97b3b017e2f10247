/**
 * Blueprints and servers for the client and MCP tests.
 *
 * @module
 */
import type { RunBody } from "../../client/mod.ts";
import { startServer, type TestServer } from "../_helpers.ts";

/** A `rust_fn` that always reports `ok: false`, so senior escalation asks. */
export const NOPE: [string, () => Promise<{ value: string; ok: boolean }>] = [
  "nope",
  () => Promise.resolve({ value: "NO", ok: false }),
];

/** A server with the `nope` function. */
export function serverWithNope(): Promise<TestServer> {
  return startServer({ functions: [NOPE] });
}

/** A run body whose only step fails and is escalated to `sid` as an `ask`. */
export function askingRun(sid: string, extra: Partial<RunBody> = {}): RunBody {
  return {
    blueprint: {
      kind: "inline",
      value: {
        id: "asks",
        agents: [{ name: "impl", kind: "rust_fn", spec: { fn_id: "nope" } }],
        flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
        spawner_hints: { layers: ["senior_escalation"] },
      },
    },
    init_ctx: {},
    ttl_secs: 30,
    operator: { senior_bridge_id: sid },
    ...extra,
  };
}

/** A run body whose step is executed by the operator behind `role` (a `spawn`). */
export function spawningRun(role: string, hooks?: string): RunBody {
  return {
    blueprint: {
      kind: "inline",
      value: {
        id: "spawns",
        operators: [{ name: role, kind: "main_ai" }],
        agents: [{ name: "impl", kind: "operator", spec: { operator_ref: role } }],
        flow: { kind: "step", ref: "impl", in: "'do X'", out: "$.r" },
        spawner_hints: { layers: hooks ? ["main_ai"] : [] },
      },
    },
    init_ctx: {},
    ttl_secs: 30,
    operator: hooks ? { kind: "main_ai", spawn_hook_id: hooks } : {},
  };
}
