/**
 * `GET /v1/asyncapi.json`: an AsyncAPI 3.0 document of the operator socket that
 * the official parser (`@asyncapi/parser`) accepts without errors, with one
 * message per frame type, and payload schemas real frames conform to.
 */
import assert from "node:assert/strict";
import { Parser } from "@asyncapi/parser";
import { Ajv } from "ajv";
import { ClientFrame, ServerFrame } from "../../protocol/frames.ts";
import { startServer } from "../_helpers.ts";
import { nextOf, operatorAgentBlueprint, seat, startRun } from "../engine/_loop.ts";

type JsonObject = Record<string, unknown>;

const tags = (union: { options: ReadonlyArray<{ shape: { type: { value: string } } }> }) =>
  union.options.map((o) => o.shape.type.value);

Deno.test("GET /v1/asyncapi.json passes the official AsyncAPI parser with no errors or warnings", async () => {
  await using server = await startServer({ config: { publicUrl: "https://sb.example:8443/sb" } });
  const res = await fetch(`${server.base}/v1/asyncapi.json`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.asyncapi, "3.0.0");
  const { document, diagnostics } = await new Parser().parse(doc);
  const serious = diagnostics.filter((d) => d.severity <= 1); // 0 error, 1 warning
  assert.deepEqual(
    serious.map((d) => `${d.code} ${d.path.join("/")}: ${d.message}`),
    [],
  );
  assert.ok(document, "parsed");
  const servers = document.servers().all();
  assert.equal(servers.length, 1);
  assert.equal(servers[0].host(), "sb.example:8443");
  assert.equal(servers[0].protocol(), "wss");
  assert.equal(servers[0].pathname(), "/sb");
  const channel = document.channels().all()[0];
  assert.equal(channel.address(), "/v1/operators/{sid}/ws");
  const names = channel.messages().all().map((m) => m.name()).sort();
  assert.deepEqual(names, [...tags(ServerFrame), ...tags(ClientFrame)].sort());
  const sends = document.operations().all().filter((o) => o.action() === "send");
  assert.deepEqual(
    sends.flatMap((o) => o.messages().all().map((m) => m.name())).sort(),
    tags(ServerFrame).sort(),
  );
});

Deno.test("real frames of a run conform to the AsyncAPI payload schemas", async () => {
  await using server = await startServer();
  const doc = await (await fetch(`${server.base}/v1/asyncapi.json`)).json();
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ $id: "https://switchboard.invalid/asyncapi.json", components: doc.components });
  const payloadOf = (tag: string): JsonObject => {
    const ref = doc.components.messages[tag].payload.$ref as string;
    return { $ref: ref.replace("#/", "https://switchboard.invalid/asyncapi.json#/") };
  };
  const conforms = (tag: string, frame: unknown) => {
    const validate = ajv.compile(payloadOf(tag));
    assert.ok(
      validate(frame),
      `${tag}: ${JSON.stringify(validate.errors)} ${JSON.stringify(frame)}`,
    );
  };
  const op = await seat(server, ["main-ai"]);
  await using _socket = op.ws;
  await startRun(server, {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: { n: 1 },
  });
  const spawn = await nextOf(op.ws, "spawn");
  conforms("spawn", spawn);
  const ack = { type: "spawn_ack", req_id: spawn.req_id, ok: true, value: { done: 1 } };
  conforms("spawn_ack", ack);
  op.ws.send({ type: "ping" });
  const pong = await nextOf(op.ws, "pong");
  conforms("pong", pong);
  conforms("ping", { type: "ping" });
  op.ws.send({ type: "answer", req_id: "nope", value: 1 });
  conforms("error", await nextOf(op.ws, "error"));
  op.ws.send(ack);
  await server.deps.engine.allSettled();
  const bad = ajv.compile(payloadOf("spawn_ack"));
  assert.equal(bad({ type: "spawn_ack" }), false, "a frame without req_id does not conform");
});
