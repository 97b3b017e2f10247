import assert from "node:assert/strict";
import { createLogger, logsAt, parseLogLevel } from "./log.ts";

function capture(level?: Parameters<typeof parseLogLevel>[0]) {
  const lines: string[] = [];
  const log = createLogger({
    level: parseLogLevel(level),
    write: (line) => lines.push(line),
    now: () => Date.parse("2026-01-01T00:00:00Z"),
  });
  return { log, lines };
}

Deno.test("createLogger writes one JSON object per line with ts, level, msg and fields", () => {
  const { log, lines } = capture();
  log.info("run ended", { run_id: "run-1", status: "succeeded", skipped: undefined });
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [{
    ts: "2026-01-01T00:00:00.000Z",
    level: "info",
    msg: "run ended",
    run_id: "run-1",
    status: "succeeded",
  }]);
});

Deno.test("createLogger drops lines below LOG_LEVEL", () => {
  const { log, lines } = capture("warn");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  assert.deepEqual(lines.map((l) => JSON.parse(l).level), ["warn", "error"]);
});

Deno.test("createLogger redacts secret-named fields, nested ones too", () => {
  const { log, lines } = capture("debug");
  log.debug("x", {
    token: "t1",
    api_token: "t2",
    headers: { Authorization: "Bearer t3", accept: "json" },
    list: [{ secret: "t4" }],
    token_present: true,
  });
  const line = JSON.parse(lines[0]);
  assert.deepEqual(line.headers, { Authorization: "[redacted]", accept: "json" });
  assert.deepEqual(line.list, [{ secret: "[redacted]" }]);
  assert.equal(line.token_present, true);
  for (const t of ["t1", "t2", "t3", "t4"]) assert.ok(!lines[0].includes(t), t);
});

Deno.test("parseLogLevel accepts the four levels in any case and falls back to info", () => {
  assert.equal(parseLogLevel("DEBUG"), "debug");
  assert.equal(parseLogLevel("warn"), "warn");
  assert.equal(parseLogLevel(undefined), "info");
  assert.equal(parseLogLevel("verbose"), "info");
});

Deno.test("createLogger writes the same text as one JSON.stringify of the whole line", () => {
  const { log, lines } = capture("debug");
  const fields = [
    { sid: "op-1", req_id: "op-1-ask-2", kind: "ask", run_id: undefined, delivered: true, n: 1.5 },
    { msg: "override", extra: [1, { password: "p" }], fn: () => 1 },
    { "1": "index key", z: '\u2028"quoted"\n', nothing: null },
    { level: "x", token: "t", nested: { deep: { token: "t", keep: 1 } } },
    {},
    { a: Number.NaN, s: "é\u2028\u0001", t: true, gone: undefined, zero: -0 },
  ];
  for (const f of fields) log.warn('a "msg"', f);
  const reference = (f: Record<string, unknown>) => {
    const line: Record<string, unknown> = {
      ts: "2026-01-01T00:00:00.000Z",
      level: "warn",
      msg: 'a "msg"',
    };
    for (const [k, v] of Object.entries(f)) {
      if (v === undefined) continue;
      line[k] = JSON.parse(JSON.stringify(v) ?? "null");
    }
    return line;
  };
  assert.equal(lines[0], JSON.stringify(reference(fields[0])));
  assert.equal(lines[2], JSON.stringify(reference(fields[2])));
  assert.equal(JSON.parse(lines[1]).msg, "override");
  assert.ok(!("fn" in JSON.parse(lines[1])));
  assert.deepEqual(JSON.parse(lines[1]).extra, [1, { password: "[redacted]" }]);
  assert.deepEqual(JSON.parse(lines[3]).nested, { deep: { token: "[redacted]", keep: 1 } });
  assert.equal(JSON.parse(lines[3]).token, "[redacted]");
  assert.equal(JSON.parse(lines[3]).level, "x");
  assert.equal(lines[4], JSON.stringify(reference({})));
  assert.equal(lines[5], JSON.stringify(reference(fields[5])));
});

Deno.test("logsAt says which levels a logger drops, and trusts loggers it did not make", () => {
  const { log } = capture("warn");
  assert.deepEqual(
    (["debug", "info", "warn", "error"] as const).map((level) => logsAt(log, level)),
    [false, false, true, true],
  );
  const noop = () => {};
  assert.equal(logsAt({ debug: noop, info: noop, warn: noop, error: noop }, "debug"), true);
});

Deno.test("stderr lines written in batches all reach stderr on exit, Deno.exit and a crash", async () => {
  const url = new URL("./log.ts", import.meta.url).href;
  for (const end of ["", "Deno.exit(3);", 'throw new Error("boom");']) {
    const code = `import { createLogger } from ${JSON.stringify(url)};
const log = createLogger();
for (let i = 0; i < 3; i++) log.info("line", { i });
await new Promise((r) => setTimeout(r, 1));
log.warn("last");
${end}`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "null",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    const lines = text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.i ?? l.msg), [0, 1, 2, "last"], `${end}: ${text}`);
    if (end.startsWith("throw")) assert.ok(text.indexOf('"last"') < text.indexOf("boom"));
  }
});
