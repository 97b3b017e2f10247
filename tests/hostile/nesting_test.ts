import assert from "node:assert/strict";
import { openSocket, startServer } from "../_helpers.ts";

const nest = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;
const deepFlow = (n: number) => {
  let flow = '{"kind":"assign","at":"$.x","value":"1"}';
  for (let i = 0; i < n; i++) flow = `{"kind":"seq","children":[${flow}]}`;
  return flow;
};

async function post(base: string, path: string, text: string) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: text,
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("bodies nested 2,000 deep answer 422 JSON instead of a 500 (finding 10)", async () => {
  await using server = await startServer();
  const bp = '{"kind":"id","id":"main"}';
  for (const path of ["/v1/tasks", "/v1/runs"]) {
    const deepCtx = await post(server.base, path, `{"blueprint":${bp},"init_ctx":${nest(2_000)}}`);
    assert.equal(deepCtx.status, 422, JSON.stringify(deepCtx.body));
    assert.match(deepCtx.body.error, /JSON nesting deeper than 128 levels/);
    const inline = await post(
      server.base,
      path,
      `{"blueprint":{"kind":"inline","value":{"id":"deep","agents":[],"flow":${
        deepFlow(2_000)
      }}},"init_ctx":{}}`,
    );
    assert.equal(inline.status, 422, JSON.stringify(inline.body));
  }
  // and within the limit the same shapes still work
  const ok = await post(
    server.base,
    "/v1/tasks",
    `{"blueprint":${bp},"init_ctx":{"a":${nest(100)}}}`,
  );
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

Deno.test("a frame nested 20,000 deep gets an error frame and the socket stays open (finding 10)", async () => {
  await using server = await startServer();
  const { sid, token } = await server.mint();
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  ws.sendRaw(`{"type":"answer","req_id":"${sid}-ask-x","value":${nest(20_000)}}`);
  const frame = await ws.next();
  assert.equal(frame.type, "error");
  assert.match((frame as { error: string }).error, /JSON nesting deeper than 128 levels/);
  ws.send({ type: "ping" });
  assert.equal((await ws.next()).type, "pong");
});

Deno.test("2 MiB of nesting is refused in milliseconds on bodies, Blueprints and frames", async () => {
  await using server = await startServer();
  const { sid, token } = await server.mint();
  await using ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
  const body = nest(1_000_000); // 2 MB: JSON.parse built a million arrays (0.3 to 0.9 s)
  const frame = `{"type":"answer","req_id":"${sid}-ask-x","value":${nest(500_000)}}`;
  const cases: [string, () => Promise<string>][] = [
    ["/v1/runs", async () => (await post(server.base, "/v1/runs", body)).body.error],
    [
      "/v1/blueprints/deep",
      async () => (await post(server.base, "/v1/blueprints/deep", body)).body.error,
    ],
    ["a frame", async () => {
      ws.sendRaw(frame);
      return ((await ws.next()) as { error: string }).error;
    }],
  ];
  for (const [name, send] of cases) {
    // best of three: a busy machine can slow one attempt, the parse slowed all of them
    const took: number[] = [];
    for (let attempt = 0; attempt < 3 && !took.some((ms) => ms < 100); attempt++) {
      const started = performance.now();
      assert.match(await send(), /JSON nesting deeper than 128 levels/);
      took.push(performance.now() - started);
    }
    assert.ok(took.some((ms) => ms < 100), `${name}: ${took.map((ms) => ms.toFixed(0))} ms`);
  }
  ws.send({ type: "ping" });
  assert.equal((await ws.next()).type, "pong");
});
