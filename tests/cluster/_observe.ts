/**
 * What an outside client observes of one scripted run, for comparing a single
 * server with a cluster: the frames its operator gets (with the socket closes),
 * the answers of the HTTP calls the script makes, the run's final record and
 * its event stream, read from every instance. Ids, times, ports and tokens are
 * replaced by placeholders, numbered in order of appearance.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ServerFrame } from "../../protocol/frames.ts";
import { abortable, sseEvents } from "../_helpers.ts";
import { eventually, getJson, post } from "./_instances.ts";

/** One server (or one instance of a cluster) as a client reaches it. */
export interface Side {
  name: string;
  base: string;
  wsBase: string;
}

/**
 * Where a scenario's parts go: the seat's socket, the run, a worker's calls
 * (the instance that does not own the run, in a cluster), a reconnecting
 * socket (the instance that did not hold it) and every instance reads.
 */
export interface Mode {
  name: string;
  seat: Side;
  run: Side;
  worker: Side;
  away: Side;
  readers: Side[];
}

/** A frame the operator got, or a close of its socket. */
export type Seen = ServerFrame | { type: "#closed"; code: number };

/** The operator of a scenario: one seat, a socket that may move, every frame logged. */
export interface Operator {
  sid: string;
  token: string;
  log: Seen[];
  /**
   * The same frames, one list per socket in the order opened: the order between
   * two sockets (a replay on the new one, the old one's close) is the client's
   * arrival order over two connections, which no server can pin.
   */
  sockets: Seen[][];
  /** Opens a socket on `on` (a live one is replaced: the server closes it). */
  connect(on: Side): Promise<void>;
  /** Closes the live socket and waits for its close. */
  close(): Promise<void>;
  send(frame: unknown): void;
  /** True while its socket is open. */
  live(): boolean;
  /** The next frame of `type` after the last one taken (others are skipped, still logged). */
  next<T extends Seen["type"]>(
    type: T,
    ms?: number,
  ): Promise<Extract<Seen, { type: T }>>;
  /** A ping answered, then no frame for `quietMs`: what was coming has come. */
  settle(quietMs?: number): Promise<void>;
}

/** Mints a seat with `roles` on `on` and connects it there. */
export async function seatOperator(on: Side, roles: string[]): Promise<Operator> {
  const minted = await post(on.base, "/v1/operators", { roles });
  assert.equal(minted.status, 200, JSON.stringify(minted.body));
  const { sid, token } = minted.body as { sid: string; token: string };
  const log: Seen[] = [];
  const sockets: Seen[][] = [];
  let taken = 0;
  let wake = () => {};
  let socket: { send(frame: unknown): void; close(): Promise<void>; open(): boolean } | undefined;
  let pongs = 0;
  const arrived = () => {
    const w = wake;
    wake = () => {};
    w();
  };
  const op: Operator = {
    sid,
    token,
    log,
    sockets,
    async connect(to) {
      // listeners are set before the socket opens: a replay sent at once is logged too
      const ws = new WebSocket(
        `${to.wsBase}/v1/operators/${sid}/ws`,
        // Deno's WebSocket takes an options object with headers (not in the DOM typing).
        { headers: { authorization: `Bearer ${token}` } } as unknown as string[],
      );
      const opened = Promise.withResolvers<void>();
      const closed = Promise.withResolvers<void>();
      const mine: Seen[] = [];
      sockets.push(mine);
      const seen = (frame: Seen) => {
        log.push(frame);
        mine.push(frame);
        arrived();
      };
      ws.onmessage = (e) => {
        const frame = JSON.parse(String(e.data)) as ServerFrame;
        if (frame.type === "pong") {
          pongs++;
          arrived();
        } else seen(frame);
      };
      ws.onopen = () => opened.resolve();
      ws.onerror = () => {};
      ws.onclose = (e) => {
        seen({ type: "#closed", code: e.code });
        opened.reject(new Error(`socket closed before open (${e.code})`));
        closed.resolve();
      };
      opened.promise.catch(() => {});
      await abortable(opened.promise, AbortSignal.timeout(10_000));
      socket = {
        send: (frame) => ws.send(JSON.stringify(frame)),
        open: () => ws.readyState === WebSocket.OPEN,
        close: async () => {
          if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
            ws.close();
          }
          await closed.promise;
        },
      };
    },
    async close() {
      await socket?.close();
    },
    live: () => socket?.open() ?? false,
    send(frame) {
      assert.ok(socket, "no socket");
      socket.send(frame);
    },
    async next(type, ms = 15_000) {
      const until = Date.now() + ms;
      while (true) {
        const at = log.findIndex((f, i) => i >= taken && f.type === type);
        if (at >= 0) {
          taken = at + 1;
          return log[at] as Extract<Seen, { type: typeof type }>;
        }
        const left = until - Date.now();
        if (left <= 0) {
          throw new Error(
            `no ${type} frame within ${ms} ms (got ${log.map((f) => f.type).join(", ")})`,
          );
        }
        await waitFor(left);
      }
    },
    async settle(quietMs = 300) {
      const before = pongs;
      const open = socket?.open() ?? false;
      if (open) op.send({ type: "ping" });
      const until = Date.now() + 10_000;
      while (open && pongs === before) {
        if (Date.now() > until) {
          throw new Error(`no pong (got ${log.map((f) => JSON.stringify(f)).join(", ")})`);
        }
        await waitFor(until - Date.now());
      }
      for (let n = log.length, i = 0; i < 20; i++, n = log.length) {
        await waitFor(quietMs);
        if (log.length === n) return;
      }
    },
  };
  /** Resolves on the next frame or close, or after `ms`. */
  function waitFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wake = () => {};
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  await op.connect(on);
  return op;
}

/** Waits until `on` sees the seat's socket live (held anywhere in the cluster), or gone. */
export async function liveOn(on: Side, op: Operator, live = true) {
  await eventually(
    async () => {
      const { body } = await getJson<{ connected: boolean }>(
        on.base,
        `/v1/operators/${op.sid}`,
        op.token,
      );
      return body.connected === live ? true : undefined;
    },
    10_000,
    `${on.name} sees the socket of ${op.sid} ${live ? "live" : "closed"}`,
  );
}

/** The run's record, read from `on` once it has ended. */
export async function endedRun(on: Side, runId: string, ms = 20_000) {
  return await eventually(
    async () => {
      const { body } = await getJson<{ status: string }>(on.base, `/v1/runs/${runId}`);
      return body.status === "running" ? undefined : body as Record<string, unknown>;
    },
    ms,
    `run ${runId} ended on ${on.name}`,
  );
}

/** The events of an ended run as `GET /v1/runs/:id/events` on `on` replays them. */
export async function eventsOn(on: Side, runId: string) {
  const res = await fetch(`${on.base}/v1/runs/${runId}/events`, {
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(res.status, 200);
  return sseEvents(await res.text());
}

const TIME_KEYS = new Set([
  "at",
  "sent_at",
  "started_at",
  "finished_at",
  "created_at",
  "deadline",
  "age_secs",
  "duration_ms",
  "wait_ms",
]);

/**
 * A normalizer: ids (seat, requests by kind, runs, tasks, worker handles) become
 * `<kind#n>` in order of first appearance, times `<time>`, base URLs `<url>`,
 * capability tokens `<cap>`. One normalizer per observation, so the numbering of
 * the frames carries over to the record and the events.
 */
export function normalizer() {
  const tags = new Map<string, string>();
  const counts = new Map<string, number>();
  const tag = (raw: string, kind: string) => {
    let t = tags.get(raw);
    if (!t) {
      const n = (counts.get(kind) ?? 0) + 1;
      counts.set(kind, n);
      t = `<${kind}#${n}>`;
      tags.set(raw, t);
    }
    return t;
  };
  const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
  const caps = new Set<string>();
  const text = (s: string) =>
    [...caps].reduce((out, cap) => out.replaceAll(cap, "<cap>"), s)
      .replace(/https?:\/\/127\.0\.0\.1:\d+/g, "<url>")
      .replace(new RegExp(`op-${UUID}-(ask|hb|ha|spawn)-${UUID}`, "g"), (m, k) => tag(m, k))
      .replace(new RegExp(`op-${UUID}`, "g"), (m) => tag(m, "sid"))
      .replace(/run-[0-9a-f]{20}/g, (m) => tag(m, "run"))
      .replace(/T-[0-9a-f]{16}/g, (m) => tag(m, "task"))
      .replace(/wh-[0-9a-f]{32}/g, (m) => tag(m, "wh"))
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>");
  const walk = (v: unknown, key?: string): unknown => {
    if (key !== undefined && TIME_KEYS.has(key) && v !== undefined) return "<time>";
    if (key === "capability_token" && typeof v === "string") {
      caps.add(v);
      return "<cap>";
    }
    if (typeof v === "string") return text(v);
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    }
    return v;
  };
  const collect = (v: unknown, key?: string): void => {
    if (key === "capability_token" && typeof v === "string") caps.add(v);
    else if (Array.isArray(v)) v.forEach((x) => collect(x));
    else if (v && typeof v === "object") Object.entries(v).forEach(([k, x]) => collect(x, k));
  };
  return function normalize(v: unknown): unknown {
    collect(v);
    return walk(v);
  };
}
