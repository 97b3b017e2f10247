import assert from "node:assert/strict";
import { ClientFrame } from "../protocol/frames.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { parseClientFrame } from "./parse_client_frame.ts";

/** What zod alone makes of a frame that passed the JSON and `type` checks. */
function viaZod(text: string): { ok: true; data: unknown } | { ok: false } {
  try {
    const parsed = ClientFrame.safeParse(JSON.parse(text));
    return parsed.success ? { ok: true, data: parsed.data } : { ok: false };
  } catch {
    return { ok: false };
  }
}

function outcome(text: string): { ok: true; data: unknown } | { ok: false } {
  try {
    return { ok: true, data: parseClientFrame(text) };
  } catch (err) {
    if (!(err instanceof SwitchboardError) && !(err instanceof RangeError)) throw err;
    return { ok: false };
  }
}

const VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1.5,
  "",
  "x",
  [],
  {},
  [1, "a", null, { b: [true] }],
  { a: { b: { c: [1, 2, { d: "e" }] } } },
];
const EXTRA: Array<Record<string, unknown>> = [{}, { extra: 1 }, { type2: "x", nested: { a: 1 } }];

function* frames(): Generator<string> {
  const s = JSON.stringify;
  const reqIds: unknown[] = ["op-1-ask-1", "", 5, null, ["x"], undefined];
  const oks: unknown[] = [true, false, "true", 1, null, undefined];
  const texts: unknown[] = ["why", null, 5, undefined, ""];
  for (const req_id of reqIds) {
    for (const extra of EXTRA) {
      yield s({ type: "ping", ...extra });
      for (const value of [...VALUES, undefined]) {
        yield s({ type: "answer", req_id, value, ...extra });
        for (const ok of oks) {
          for (const error of texts) yield s({ type: "spawn_ack", req_id, value, ok, error });
        }
      }
      for (const ok of oks) {
        for (const reason of texts) yield s({ type: "hook_ack", req_id, ok, reason, ...extra });
      }
    }
  }
  // Text only JSON.parse and zod disagree about.
  yield '{"type":"answer","req_id":"a","value":1e400}';
  yield '{"type":"answer","req_id":"a","value":[-1e999]}';
  yield '{"type":"answer","req_id":"a","value":-0}';
  yield '{"type":"answer","req_id":"a","value":{"__proto__":{"x":1}}}';
  yield '{"type":"answer","req_id":"a","value":[{"a":{"__proto__":null}}]}';
  yield '{"type":"spawn_ack","req_id":"a","value":{"__proto__":1}}';
  yield '{"type":"answer","__proto__":{"req_id":"a"},"value":1}';
  yield '{"type":"answer","req_id":"a","value":1,"type":"ping"}';
  yield `{"type":"answer","req_id":"a","value":${"[".repeat(70)}1${"]".repeat(70)}}`;
}

Deno.test("parseClientFrame accepts and returns exactly what the ClientFrame schema does", () => {
  let count = 0;
  for (const text of frames()) {
    count++;
    assert.deepEqual(outcome(text), viaZod(text), text);
  }
  assert.ok(count > 1000);
});

Deno.test("parseClientFrame names the field of a malformed reply", () => {
  assert.throws(
    () => parseClientFrame('{"type":"hook_ack","req_id":"op-1-hb-1","ok":"yes"}'),
    (err: unknown) =>
      err instanceof SwitchboardError && /^invalid hook_ack frame: ok: /.test(err.message),
  );
  assert.throws(
    () => parseClientFrame('{"type":"answer","req_id":"op-1-ask-1","value":1e400}'),
    (err: unknown) =>
      err instanceof SwitchboardError && /^invalid answer frame: value/.test(err.message),
  );
});

Deno.test("parseClientFrame refuses values nested deeper than 128 levels with a bad_request", () => {
  const nest = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;
  for (const n of [129, 20_000]) {
    assert.throws(
      () => parseClientFrame(`{"type":"answer","req_id":"a","value":${nest(n)}}`),
      (e) =>
        e instanceof SwitchboardError && e.code === "bad_request" &&
        e.message.includes("JSON nesting deeper than 128 levels"),
    );
  }
  const ok = parseClientFrame(`{"type":"answer","req_id":"a","value":${nest(127)}}`);
  assert.equal(ok.type, "answer");
});
