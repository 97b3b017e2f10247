/**
 * The sweep's WebSocket attacks on the operator socket: garbage, frames around
 * 1 MiB, binary, floods, replies to unknown requests, and connect/close storms.
 * SPEC §4: a bad frame gets an `error` frame and the socket stays open; binary is
 * close 1003; over 1 MiB is close 1009; more frames at once than the seat's frame
 * burst is close 1008 (README "Limits").
 *
 * @module
 */
import { openSocket, type TestSocket } from "../_helpers.ts";
import { type Attack, checkAnswer, type Rng, type SweepContext } from "./_sweep.ts";
import { DEFAULT_FRAME_RATE, frameCost } from "../../session/frame_bucket.ts";

const MiB = 1024 * 1024;

async function mint(ctx: SweepContext): Promise<{ sid: string; token: string }> {
  ctx.sent();
  const res = await fetch(`${ctx.base}/v1/operators`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`mint answered ${res.status}`);
  return body;
}

async function seat(ctx: SweepContext) {
  const { sid, token } = await mint(ctx);
  const ws = await openSocket(`${ctx.wsBase}/v1/operators/${sid}/ws`, {
    token,
    signal: AbortSignal.timeout(10_000),
  });
  return { sid, token, ws };
}

/** A hostile text frame that is not a valid reply to anything pending. */
function garbageFrame(r: Rng, sid: string): string {
  const reqId = `${sid}-${r.pick(["ask", "hb", "ha", "spawn", "x"])}-${crypto.randomUUID()}`;
  const s = JSON.stringify;
  switch (r.int(10)) {
    case 0:
      return String.fromCharCode(...Array.from({ length: r.int(200) + 1 }, () => 32 + r.int(90)));
    case 1:
      return s({
        type: r.pick(["answer", "hook_ack", "spawn_ack"]),
        req_id: reqId,
        value: 1,
        ok: true,
      });
    case 2:
      return s({
        type: "answer",
        req_id: r.pick(["", "x".repeat(5_000), "__proto__", "constructor"]),
        value: null,
      });
    case 3:
      return "[".repeat(r.pick([129, 5_000, 200_000])) + "]".repeat(10);
    case 4:
      return '{"type":"answer","req_id":"' + reqId + '","value":"\\ud800\\udfff\\ud800"}';
    case 5:
      return JSON.stringify({
        type: "answer",
        req_id: reqId,
        value: { __proto__: null, constructor: { prototype: 1 } },
      })
        .replace('"value":{', '"value":{"__proto__":{"x":1},');
    case 6:
      return s({
        type: r.pick(["ask", "spawn", "cancel", "pong", "error", "hello", 5, null]),
        req_id: reqId,
      });
    case 7:
      return s({ type: "spawn_ack", req_id: reqId, ok: "yes", error: { deep: [[[[1]]]] } });
    case 8:
      return s({
        type: "answer",
        req_id: reqId,
        value: Array.from({ length: 20_000 }, (_, i) => i),
      });
    default:
      return "";
  }
}

/** Waits for a `pong` (skipping error frames); false if none within `ms`. */
async function pong(ws: TestSocket, ms: number): Promise<boolean> {
  const signal = AbortSignal.timeout(ms);
  try {
    for (;;) if ((await ws.next({ signal })).type === "pong") return true;
  } catch {
    return false;
  }
}

async function expectClose(ctx: SweepContext, ws: TestSocket, code: number, input: string) {
  const closed = await Promise.race([
    ws.closed,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000)),
  ]);
  if (!closed) {
    ctx.finding("ws not closed", input, `expected close ${code}`);
    await ws.close();
  } else if (closed.code !== code) {
    ctx.finding("ws close code", input, `expected ${code}, got ${closed.code} ${closed.reason}`);
  }
}

export const wsAttacks: Record<string, Attack> = {
  async "ws garbage"(ctx) {
    const { sid, ws } = await seat(ctx);
    const n = 1 + ctx.rng.int(30);
    const frames = Array.from({ length: n }, () => garbageFrame(ctx.rng, sid));
    for (const f of frames) ws.sendRaw(f);
    ws.send({ type: "ping" });
    ctx.sent(n + 1);
    let errors = 0;
    const signal = AbortSignal.timeout(15_000);
    try {
      for (;;) {
        const frame = await ws.next({ signal });
        if (frame.type === "pong") break;
        if (frame.type === "error") errors++;
        else {ctx.finding(
            "ws unexpected frame",
            frames[0].slice(0, 80),
            JSON.stringify(frame).slice(0, 200),
          );}
      }
      if (errors !== n) {
        ctx.finding(
          "ws error frames",
          frames.map((f) => f.slice(0, 40)).join(" | ").slice(0, 300),
          `${errors} of ${n}`,
        );
      }
    } catch {
      ctx.finding(
        "ws no pong after garbage",
        frames.map((f) => f.slice(0, 40)).join(" | ").slice(0, 300),
        `${errors} errors`,
      );
    }
    await ws.close();
  },

  async "ws around 1 MiB"(ctx) {
    const { sid, ws } = await seat(ctx);
    const over = ctx.rng.chance(0.5);
    const head = `{"type":"answer","req_id":"${sid}-ask-${crypto.randomUUID()}","value":"`;
    const size = over ? MiB + 1 + ctx.rng.int(1_000) : MiB - ctx.rng.int(1_000);
    // a multi-byte filler half the time: the limit is in bytes, not characters
    const filler = ctx.rng.chance(0.5)
      ? "\u00e9".repeat((size - head.length - 2) >> 1)
      : "y".repeat(size - head.length - 2);
    ws.sendRaw(head + filler + '"}');
    ctx.sent();
    const input = `${over ? "over" : "under"} 1 MiB (${size} bytes)`;
    if (over) return expectClose(ctx, ws, 1009, input);
    ws.send({ type: "ping" });
    const frame = await ws.next({ signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
    if (frame?.type !== "error") {
      ctx.finding("ws under 1 MiB", input, JSON.stringify(frame ?? null));
    }
    if (!(await pong(ws, 15_000))) ctx.finding("ws no pong", input, "");
    await ws.close();
  },

  async "ws binary"(ctx) {
    const { ws } = await seat(ctx);
    ws.sendRaw(new Uint8Array(ctx.rng.pick([0, 1, 100, 2 * MiB])));
    ctx.sent();
    await expectClose(ctx, ws, 1003, "binary frame");
  },

  async "ws flood"(ctx) {
    const { sid, token, ws } = await seat(ctx);
    const n = ctx.rng.pick([500, 1_500, 5_000]);
    const garbage = ctx.rng.chance(0.5);
    const frames = Array.from(
      { length: n },
      () => garbage ? garbageFrame(ctx.rng, sid) : '{"type":"ping"}',
    );
    frames.push('{"type":"ping"}');
    for (const frame of frames) ws.sendRaw(frame);
    ctx.sent(n + 1);
    const input = `${n} ${garbage ? "garbage" : "ping"} frames`;
    // within the seat's frame burst every frame is answered (an error or a pong), in
    // order, the ping last; over it the socket may be closed 1008 (or dropped, if
    // frames still arrive after the close: whether depends on how fast the server
    // reads them, as the bucket refills meanwhile), and then the seat keeps working
    const cost = frames.reduce((sum, f) => sum + frameCost(f), 0);
    const overBurst = cost > DEFAULT_FRAME_RATE.burst;
    const signal = AbortSignal.timeout(30_000);
    const frameOrClose = () =>
      Promise.race([
        ws.next({ signal }).then(() => "frame" as const),
        ws.closed.then(() => "closed" as const),
      ]);
    let got = 0;
    let closed = false;
    try {
      while (got < n + 1) {
        if (await frameOrClose() === "closed") {
          closed = true;
          break;
        }
        got++;
      }
    } catch {
      ctx.finding("ws flood", input, `${got} answers of ${n + 1} in 30 s`);
      await ws.close();
      return;
    }
    if (!overBurst) {
      if (closed) {
        ctx.finding("ws flood closed", input, `after ${got} answers of ${n + 1} (${cost} tokens)`);
      }
      await ws.close();
      return;
    }
    if (!closed) {
      await ws.close();
      return;
    }
    const { code, reason } = await ws.closed;
    if (code === 1008 ? reason !== "frame rate limit" : code !== 0 && code !== 1006) {
      ctx.finding("ws flood close", input, `closed ${code} ${reason}`);
    }
    const again = await openSocket(`${ctx.wsBase}/v1/operators/${sid}/ws`, {
      token,
      signal: AbortSignal.timeout(10_000),
    });
    again.send({ type: "ping" });
    ctx.sent();
    if (!(await pong(again, 15_000))) ctx.finding("ws seat dead after flood", input, "");
    await again.close();
  },

  async "ws storm"(ctx) {
    const { sid, token } = await mint(ctx);
    const n = ctx.rng.pick([10, 50, 100]);
    const url = `${ctx.wsBase}/v1/operators/${sid}/ws`;
    const opened = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => {
        const bad = ctx.rng.chance(0.3);
        const viaProtocol = ctx.rng.chance(0.3);
        return openSocket(url, {
          token: bad ? ctx.rng.pick(["", "x", token + "x", "t".repeat(5_000)]) : token,
          viaProtocol,
          signal: AbortSignal.timeout(10_000),
        }).then(async (ws) => {
          if (i % 2 === 0) await ws.close();
          return ws;
        });
      }),
    );
    ctx.sent(n);
    await Promise.all(opened.map((o) => o.status === "fulfilled" ? o.value.close() : undefined));
    // the seat still works after the storm
    const last = await openSocket(url, { token, signal: AbortSignal.timeout(10_000) });
    last.send({ type: "ping" });
    if (!(await pong(last, 15_000))) ctx.finding("ws seat dead after storm", `${n} sockets`, "");
    await last.close();
  },

  async "ws bad handshake"(ctx) {
    const { sid, token } = await mint(ctx);
    const r = ctx.rng;
    const path = r.pick([
      `/v1/operators/${sid}/ws`,
      `/v1/operators/op-nope/ws`,
      `/v1/operators/${"s".repeat(3_000)}/ws`,
    ]);
    const headers = r.pick<Record<string, string>>([
      {},
      { authorization: `Bearer ${token}` },
      { authorization: `Bearer ${token}`, upgrade: "websocket", connection: "Upgrade" },
      {
        authorization: `Bearer ${token}`,
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-version": "13",
      },
      {
        authorization: "Bearer",
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "x",
        "sec-websocket-version": "13",
      },
      {
        "sec-websocket-protocol": `bearer, ${token}, extra`,
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
      {
        "sec-websocket-protocol": "bearer",
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
      {
        authorization: `Bearer ${token}`,
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "99",
      },
    ]);
    ctx.sent();
    let res: Response;
    try {
      res = await fetch(`${ctx.base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      // fetch itself may refuse an upgrade request; a dead server shows in the liveness check
      if (/timed out|TimeoutError/.test(String(err))) {
        ctx.finding("no answer", path.slice(0, 60), "");
      }
      return;
    }
    if (res.status === 101) {
      await res.body?.cancel();
      return;
    }
    const text = await res.text();
    checkAnswer(
      ctx,
      `ws handshake ${path.slice(0, 60)} ${Object.keys(headers).join(",")}`,
      res.status,
      res.headers.get("content-type"),
      text,
    );
  },
};
