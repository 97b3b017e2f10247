/**
 * A client that goes away in the middle of its body (a Content-Length it never
 * sends, a chunked body cut short) is a client fault: the server logs no internal
 * error and counts no 500 for it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openDeps } from "../../boot.ts";
import { defaultConfig } from "../../deps.ts";
import { createLogger } from "../../observe/log.ts";
import { startServer, until } from "../_helpers.ts";

/** Sends a request head and part of its body, then closes the connection. */
async function cutShort(port: number, path: string, head: string, part: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${head}\r\n${part}`),
  );
  await new Promise((r) => setTimeout(r, 50)); // the server starts reading the body
  conn.close();
}

Deno.test("a body cut short by the client is no internal error and no 500", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (line: string) => lines.push(line) });
  const deps = await openDeps(defaultConfig({ kvPath: ":memory:", logLevel: "info" }), { log });
  try {
    await using server = await startServer({ deps });
    const port = Number(new URL(server.base).port);
    const json = "Content-Type: application/json\r\n";
    const cases: [string, string, string][] = [
      ["/v1/operators", `${json}Content-Length: 100\r\n`, '{"roles":'],
      ["/v1/runs", `${json}Transfer-Encoding: chunked\r\n`, '10\r\n{"blueprint":{"k'],
      ["/v1/blueprints/cut", `${json}Content-Length: 5000\r\n`, '{"id":"cut"'],
    ];
    for (const [path, head, part] of cases) await cutShort(port, path, head, part);
    // each cut request is logged once it ends
    await until(() => lines.filter((l) => l.includes('"msg":"http request"')).length >= 3).catch(
      () => {
        throw new Error(lines.join("\n").slice(0, 3_000));
      },
    );
    const faults = lines.filter((l) => l.includes('"status":500') || l.includes("internal error"));
    assert.deepEqual(faults, []);
    const metrics = await (await fetch(`${server.base}/v1/metrics`)).text();
    assert.doesNotMatch(metrics, /switchboard_http_requests_total\{[^}]*status="500"/);
  } finally {
    await deps.close();
  }
});
