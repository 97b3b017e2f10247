/**
 * Issue 3: settling a request costs the same with 1,000 or 100,000 others
 * pending (target: flat, O(1)).
 *
 * Each iteration opens one `ask` on a session that already holds N pending
 * requests that are never answered, then settles it the way a socket message
 * does (`session.receive` with the `answer` text) and awaits the engine-side
 * promise. The session is a real `OperatorSession` on a real server's session
 * env (in-memory seat store, metrics, logger); it has no live socket, so nothing
 * is written to the wire (a request made while disconnected waits, SPEC §4).
 *
 * A second group times `forgetRun` (called for every session when any run ends)
 * with N pending, which walks the pending map.
 *
 * @module
 */
import { startServer } from "../tests/_helpers.ts";
import { OperatorSession } from "../session/operator_session.ts";
import { BENCH_FRAME_RATE, QUESTION } from "./_bench_helpers.ts";

const SIZES = [1_000, 10_000, 100_000];
const TASK = "T-0000000000000001";

const server = await startServer({ config: { wsFrameRate: BENCH_FRAME_RATE } });

/** The server side of a real socket; `receive` only writes to it to report a bad frame. */
async function serverSideSocket(): Promise<WebSocket> {
  const socket = Promise.withResolvers<WebSocket>();
  const bare = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const upgraded = Deno.upgradeWebSocket(req);
    upgraded.socket.onopen = () => socket.resolve(upgraded.socket);
    return upgraded.response;
  });
  const client = new WebSocket(`ws://127.0.0.1:${bare.addr.port}/`);
  client.onmessage = () => {};
  return await socket.promise;
}
const socket = await serverSideSocket();

/** The run every bench request belongs to (so the journal hears of it). */
const RUN = "run-bench0000000000000";

interface Loaded {
  session: OperatorSession;
  lastReqId(): string;
}

function loadedSession(n: number): Loaded {
  let last = "";
  const now = Date.now();
  const session = new OperatorSession(
    { sid: `op-${crypto.randomUUID()}`, tokenHash: "", roles: [], createdAt: now, lastSeenAt: now },
    {
      ...server.deps.sessionEnv,
      journal: {
        record(request) {
          if (request.state === "pending") last = request.req_id;
        },
        durable: () => Promise.resolve(),
      },
    },
  );
  for (let i = 0; i < n; i++) {
    session.ask(`T-parked-${i}`, QUESTION, { runId: RUN }).catch(() => {});
  }
  return { session, lastReqId: () => last };
}

const loaded = new Map(SIZES.map((n) => [n, loadedSession(n)]));

for (const n of SIZES) {
  const { session, lastReqId } = loaded.get(n)!;
  Deno.bench({
    name: `open + settle one ask, ${n.toLocaleString("en-US")} pending`,
    group: "settle with N pending",
    baseline: n === SIZES[0],
    async fn() {
      const answer = session.ask(TASK, QUESTION, { runId: RUN });
      session.receive(
        socket,
        `{"type":"answer","req_id":"${lastReqId()}","value":${JSON.stringify(QUESTION)}}`,
      );
      await answer;
      if (session.pendingCount !== n) throw new Error("pending count drifted");
    },
  });
}

for (const n of SIZES) {
  const { session } = loaded.get(n)!;
  Deno.bench({
    name: `forgetRun (a run ended), ${n.toLocaleString("en-US")} pending`,
    group: "forgetRun with N pending",
    baseline: n === SIZES[0],
    fn() {
      session.forgetRun("run-00000000000000000000");
    },
  });
}
