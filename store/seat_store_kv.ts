/**
 * The Deno KV seat store. Keys, below `prefix` (default `["seats"]`):
 *
 * - `seat, <sid>` → {@link SeatRecord} (the token's SHA-256, never the token);
 * - `req, <sid>, <req_id>` → the request's `BlobRef` (frames may be large);
 * - `req_run, <run_id>, <sid>, <req_id>` → null, to find a run's requests;
 * - `run_ended, <run_id>` → epoch ms: once set, no request of that run is written
 *   again (a late write from a session cannot resurrect a request of an ended run);
 * - `blob, …` → chunks of large requests (store/kv_blob.ts).
 *
 * @module
 */
import type { RequestRecord, SeatRecord, SeatStore } from "./seat_store.ts";
import type { BlobRef } from "./kv_blob.ts";
import { deleteJson, putJson, readRef } from "./_kv_json.ts";
import { retryKvLocked } from "./kv_retry.ts";

/** Options of {@link createKvSeatStore}. */
export interface KvSeatStoreOptions {
  /** Key prefix of every entry. Default `["seats"]`. */
  prefix?: Deno.KvKey;
}

/** Creates a {@link SeatStore} on `kv`. The caller owns `kv` and closes it. */
export function createKvSeatStore(kv: Deno.Kv, options: KvSeatStoreOptions = {}): SeatStore {
  const { prefix = ["seats"] } = options;
  const seatKey = (sid: string): Deno.KvKey => [...prefix, "seat", sid];
  const reqKey = (sid: string, reqId: string): Deno.KvKey => [...prefix, "req", sid, reqId];
  const runIndex = (runId: string, sid: string, reqId: string): Deno.KvKey => [
    ...prefix,
    "req_run",
    runId,
    sid,
    reqId,
  ];
  const endedKey = (runId: string): Deno.KvKey => [...prefix, "run_ended", runId];
  const blobs: Deno.KvKey = [...prefix, "blob"];

  async function deleteRequestAt(sid: string, reqId: string, runId?: string): Promise<void> {
    await deleteJson(kv, reqKey(sid, reqId), blobs);
    if (runId !== undefined) await retryKvLocked(() => kv.delete(runIndex(runId, sid, reqId)));
  }

  async function requestsUnder(sub: Deno.KvKey): Promise<RequestRecord[]> {
    const out: RequestRecord[] = [];
    for await (const { value } of kv.list<BlobRef>({ prefix: [...prefix, "req", ...sub] })) {
      out.push(await readRef<RequestRecord>(kv, blobs, value));
    }
    return out;
  }

  return {
    async putSeat(seat) {
      await retryKvLocked(() => kv.set(seatKey(seat.sid), seat));
    },

    async deleteSeat(sid) {
      for (const r of await requestsUnder([sid])) await deleteRequestAt(sid, r.req_id, r.run_id);
      await retryKvLocked(() => kv.delete(seatKey(sid)));
    },

    async listSeats() {
      const out: SeatRecord[] = [];
      for await (const { value } of kv.list<SeatRecord>({ prefix: [...prefix, "seat"] })) {
        out.push(value);
      }
      return out;
    },

    async putRequest(request) {
      const runId = request.run_id;
      if (runId === undefined) {
        await putJson(kv, reqKey(request.sid, request.req_id), blobs, request);
        return;
      }
      // One commit writes the request and its index, and only while the run has not ended.
      await putJson(kv, reqKey(request.sid, request.req_id), blobs, request, {
        extra: (op) =>
          op.check({ key: endedKey(runId), versionstamp: null })
            .set(runIndex(runId, request.sid, request.req_id), null),
      });
    },

    async deleteRequest(sid, reqId) {
      const ref = (await kv.get<BlobRef>(reqKey(sid, reqId))).value;
      if (ref === null) return;
      const record = await readRef<RequestRecord>(kv, blobs, ref);
      await deleteRequestAt(sid, reqId, record.run_id);
    },

    async listRequests() {
      const all = await requestsUnder([]);
      return all.sort((a, b) => a.sent_at - b.sent_at);
    },

    async deleteRunRequests(runId) {
      await retryKvLocked(() => kv.set(endedKey(runId), Date.now()));
      const iter = kv.list<null>({ prefix: [...prefix, "req_run", runId] });
      for await (const { key } of iter) {
        const [sid, reqId] = key.slice(-2);
        if (typeof sid === "string" && typeof reqId === "string") {
          await deleteRequestAt(sid, reqId, runId);
        }
      }
    },
  };
}
