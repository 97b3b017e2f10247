/**
 * Conformance of SPEC §1 (running it), §2 (HTTP conventions), §3 (operator
 * seats) and §7 (operability), driven as an outside client would: a child
 * server started the way `deno task start` starts it, or a real server on port
 * 0, real HTTP and real WebSockets. Only claims no other test covered.
 */
import assert from "node:assert/strict";
import { abortable, openSocket, startServer } from "../_helpers.ts";
import { call, spawnServer } from "../durable/_child.ts";
import { spawnServer as spawnMain } from "../operability/_child_server.ts";
import { nextOf, operatorAgentBlueprint, post, runEnded, startRun } from "../engine/_loop.ts";

/** base64url (no padding) → bytes. */
function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(
    atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)),
    (c) => c.charCodeAt(0),
  );
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

/** HMAC-SHA256 of `input` under the hex `keyHex`, as lowercase hex (reference/http.md §10.3). */
async function hmacHex(keyHex: string, input: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    hexBytes(keyHex),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the ready line is the one line on stdout and names HOST as configured: http://localhost:PORT", async () => {
  const server = await spawnMain({ HOST: "localhost" });
  let stopped = false;
  try {
    const port = new URL(server.base).port;
    assert.equal(server.base, `http://localhost:${port}`);
    const res = await fetch(`http://127.0.0.1:${port}/v1/healthz`);
    assert.equal(await res.text(), "ok");
    const out = await server.stop();
    stopped = true;
    assert.equal(out.stdout, `switchboard listening on http://localhost:${port}\n`);
  } finally {
    if (!stopped) await server.stop();
  }
});

Deno.test("SIGINT stops the server like SIGTERM: a live operator socket closes with 1001, exit 0", async () => {
  const server = await spawnServer(":memory:");
  try {
    const minted = await call(server, "POST", "/v1/operators", { roles: [] });
    assert.equal(minted.status, 200);
    const { sid, token } = minted.body as { sid: string; token: string };
    const ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
    const status = await server.kill("SIGINT");
    assert.equal((await ws.closed).code, 1001);
    assert.equal(status.code, 0);
  } finally {
    await server[Symbol.asyncDispose]();
  }
});

Deno.test("SWITCHBOARD_SECRET (any hex key) signs the capability tokens; SWITCHBOARD_PUBLIC_URL is in the directive", async () => {
  const secret = "00ff10ab"; // a short key: SPEC §1 asks only for hex, and 0.1.2 took any
  const publicUrl = "http://switchboard.example:9999";
  const server = await spawnServer(":memory:", {
    env: { SWITCHBOARD_SECRET: secret, SWITCHBOARD_PUBLIC_URL: publicUrl },
  });
  try {
    const minted = await call(server, "POST", "/v1/operators", { roles: ["main-ai"] });
    assert.equal(minted.status, 200, JSON.stringify(minted.body));
    const { sid, token } = minted.body as { sid: string; token: string };
    const ws = await openSocket(`${server.wsBase}/v1/operators/${sid}/ws`, { token });
    const started = await call(server, "POST", "/v1/runs", {
      blueprint: { kind: "inline", value: operatorAgentBlueprint() },
      init_ctx: {},
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const spawn = await nextOf(ws, "spawn");
    assert.ok(
      spawn.directive.includes(`${publicUrl}/v1/worker/`),
      `the directive names the public URL: ${spawn.directive}`,
    );
    const cap = JSON.parse(new TextDecoder().decode(fromBase64Url(spawn.capability_token)));
    const role = cap.role[0].toUpperCase() + cap.role.slice(1);
    const maxUses = cap.max_uses === null || cap.max_uses === undefined
      ? "None"
      : `Some(${cap.max_uses})`;
    const input = [
      cap.agent_id,
      role,
      cap.scopes.join(","),
      cap.issued_at,
      cap.expire_at,
      maxUses,
      cap.nonce,
    ].join("|");
    assert.equal(cap.sig_hex, await hmacHex(secret, input), "signed with SWITCHBOARD_SECRET");
    assert.notEqual(cap.sig_hex, await hmacHex("00ff10ac", input), "and with nothing else");
    await ws.close();
  } finally {
    await server[Symbol.asyncDispose]();
  }
});

Deno.test("SWITCHBOARD_SECRET that is not hex stops the boot with one line and exit 1", async () => {
  const server = await spawnServer(":memory:", { env: { SWITCHBOARD_SECRET: "not-hex" } })
    .then(
      (s) => s,
      (err: Error) => err,
    );
  if (!(server instanceof Error)) {
    await server[Symbol.asyncDispose]();
    assert.fail("a server with a non-hex secret started");
  }
  assert.match(server.message, /switchboard: cannot start: .*SWITCHBOARD_SECRET/);
});

Deno.test("a never-connected seat's role gets a run's spawn, pending; DELETE fails the run with `operator session deleted` and frees the role", async () => {
  await using server = await startServer();
  const seat = await server.mint(["main-ai"]);
  const auth = { authorization: `Bearer ${seat.token}` };
  const runId = await startRun(server, {
    blueprint: { kind: "inline", value: operatorAgentBlueprint() },
    init_ctx: {},
  });
  // registered at mint (SPEC §3, defect 4): the request waits on the seat, unsent
  let info: Record<string, unknown> = {};
  for (let i = 0; i < 200 && info.pending !== 1; i++) {
    const res = await fetch(`${server.base}/v1/operators/${seat.sid}`, { headers: auth });
    info = await res.json();
    if (info.pending !== 1) await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(info, { sid: seat.sid, roles: ["main-ai"], connected: false, pending: 1 });
  const pending = await fetch(`${server.base}/v1/operators/${seat.sid}/pending`, { headers: auth });
  assert.equal(pending.status, 200);
  const [frame] = (await pending.json()).pending;
  assert.equal(frame.type, "spawn");
  assert.match(
    frame.req_id,
    new RegExp(
      `^${seat.sid}-spawn-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
    ),
  );
  assert.ok(!("parent_req_id" in frame), "parent_req_id is omitted");

  const deleted = await fetch(`${server.base}/v1/operators/${seat.sid}`, {
    method: "DELETE",
    headers: auth,
  });
  assert.equal(deleted.status, 204);
  assert.equal(await deleted.text(), "");
  // "at once": well before the run's own deadline (1800 s)
  const run = await abortable(runEnded(server, runId), AbortSignal.timeout(5_000));
  assert.equal(run.status, "failed");
  assert.match(String(run.error), /operator session deleted/);
  const again = await post(server, "/v1/operators", { roles: ["main-ai"] });
  assert.equal(again.status, 200, "the role is released");
});

Deno.test("the enhance routes of 0.1.2 are not routed: 404 with a JSON error on every method (SPEC §2, §9)", async () => {
  await using server = await startServer();
  const routes: Array<[string, string]> = [
    ["POST", "/v1/issues"],
    ["GET", "/v1/issues/h-0b6c1f4e-0000-4000-8000-000000000000"],
    ["GET", "/v1/enhance/log"],
    ["GET", "/v1/enhance/log?blueprint_id=main"],
    ["GET", "/v1/enhance/log/h-1"],
    ["GET", "/v1/enhance-settings"],
    ["POST", "/v1/enhance-settings"],
    ["GET", "/v1/enhance-settings/s1"],
    ["PUT", "/v1/enhance-settings/s1"],
    ["DELETE", "/v1/enhance-settings/s1"],
  ];
  for (const [method, path] of routes) {
    const res = await fetch(`${server.base}${path}`, {
      method,
      headers: method === "POST" || method === "PUT" ? { "content-type": "application/json" } : {},
      body: method === "POST" || method === "PUT" ? "{}" : undefined,
    });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = await res.json();
    assert.equal(typeof body.error, "string", `${method} ${path}`);
    assert.equal(typeof body.code, "string", `${method} ${path}`);
  }
});

Deno.test("SWITCHBOARD_SESSION_IDLE_SECS tears down a seat with no live socket and frees its role; a connected seat stays", async () => {
  const server = await spawnServer(":memory:", { env: { SWITCHBOARD_SESSION_IDLE_SECS: "1" } });
  try {
    const idle = (await call(server, "POST", "/v1/operators", { roles: ["idle-role"] })).body as {
      sid: string;
      token: string;
    };
    const live = (await call(server, "POST", "/v1/operators", { roles: ["live-role"] })).body as {
      sid: string;
      token: string;
    };
    const ws = await openSocket(`${server.wsBase}/v1/operators/${live.sid}/ws`, {
      token: live.token,
    });
    const read = (seat: { sid: string; token: string }) =>
      call(server, "GET", `/v1/operators/${seat.sid}`, undefined, {
        authorization: `Bearer ${seat.token}`,
      });
    const deadline = Date.now() + 10_000;
    let gone = await read(idle);
    while (gone.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      gone = await read(idle);
    }
    assert.deepEqual(gone, { status: 404, body: { error: "unknown sid", code: "seat_not_found" } });
    const again = await call(server, "POST", "/v1/operators", { roles: ["idle-role"] });
    assert.equal(again.status, 200, "the idle seat's role is released");
    const stays = await read(live);
    assert.equal(stays.status, 200);
    assert.equal(stays.body!.connected, true);
    await ws.close();
  } finally {
    await server[Symbol.asyncDispose]();
  }
});

Deno.test("GET /v1/doctor lists the Blueprint ids sorted ascending, archived ones left out (reference/http.md §8.11)", async () => {
  await using server = await startServer();
  for (const id of ["zeta", "alpha", "beta"]) {
    const res = await post(server, `/v1/blueprints/${id}`, {
      id,
      agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
      flow: { kind: "step", ref: "identity", in: "'x'", out: "$.o" },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const archived = await fetch(`${server.base}/v1/blueprints/beta`, { method: "DELETE" });
  assert.equal(archived.status, 204);
  const doctor = await (await fetch(`${server.base}/v1/doctor`)).json();
  assert.deepEqual(doctor.registered_blueprint_ids, ["alpha", "main", "zeta"]);
  assert.equal(doctor.registered_blueprint_count, 3);
});
