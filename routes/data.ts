/**
 * The data path (reference/http.md §6): workers emit output records with their
 * capability token or worker handle; admins read them by id or producer name.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";
import {
  DataEmitBody,
  DataEmitted,
  DataNamedBody,
  DataTokenQuery,
  OutputRecord,
} from "../protocol/worker.ts";
import type { DataStore, StoredOutput } from "../store/data_store.ts";
import { randomHex } from "../engine/crypto.ts";
import { isHandle, type TokenAuthority } from "../engine/tokens.ts";
import { adminGuard, assertStorageRoom, jsonBody, queryOf, requireJson } from "./_http.ts";
import type { DiskBudget } from "../store/disk_budget.ts";
import { doc, json } from "./_doc.ts";
import { parserD, workerRecord } from "./_worker_auth.ts";
import { unmatched } from "./_fallback.ts";

/** What the data routes need. */
export interface DataRoutesDeps {
  data: DataStore;
  tokens: TokenAuthority;
  now(): number;
  apiToken?: string;
  /** The KV file's byte bound: no new record while it is over (507). */
  storage?: DiskBudget;
}

function publicRecord(r: StoredOutput): OutputRecord {
  return {
    id: r.id,
    task_id: r.task_id,
    attempt: r.attempt,
    producer_agent: r.producer_agent,
    event: r.event,
    parent_refs: r.parent_refs,
  };
}

/** Routes under `/v1/data`. */
export function dataRoutes(deps: DataRoutesDeps) {
  const tags = ["data"];
  const emit = async (c: Context, body: Omit<DataEmitBody, "producer_agent">, producer: string) => {
    const bearer = parserD(c);
    const record = await workerRecord(
      deps.tokens,
      bearer,
      "emit_output",
      body.task_id,
      "data_emit verify",
    );
    if (isHandle(bearer) && record.task_id !== body.task_id) {
      throw new SwitchboardError(
        "forbidden",
        `engine: data_emit verify: token task mismatch: not bound to ${body.task_id}`,
      );
    }
    assertStorageRoom(deps.storage);
    const stored: StoredOutput = {
      id: `out-${randomHex(5)}`,
      task_id: body.task_id,
      attempt: body.attempt,
      producer_agent: producer,
      event: body.event,
      parent_refs: body.parent_refs,
      created_at: deps.now(),
      ...(record.run_id === undefined ? {} : { run_id: record.run_id }),
    };
    await deps.data.putOutput(stored);
    return c.json({ out_id: stored.id }, 200);
  };
  const emitDoc = (summary: string) =>
    doc({
      tags,
      summary,
      description: "Auth: `Authorization: Bearer <capability token or wh- handle>` (wins) or " +
        "`?token=`. Only a worker credential bound to `task_id` passes.",
      responses: { 200: json(DataEmitted, "The new record's id.") },
      errors: [400, 401, 403, 410, 413, 415, 422, 429, 507],
      security: ["workerToken"],
    });

  return new Hono()
    .post(
      "/v1/data/emit",
      emitDoc("Emit an output record"),
      queryOf(DataTokenQuery),
      requireJson,
      jsonBody(DataEmitBody),
      (c) => {
        const body = c.req.valid("json");
        return emit(c, body, body.producer_agent);
      },
    )
    .post(
      "/v1/data/:name",
      emitDoc("Emit an output record under a producer name"),
      queryOf(DataTokenQuery),
      requireJson,
      jsonBody(DataNamedBody),
      (c) => emit(c, c.req.valid("json"), c.req.param("name")),
    )
    .get(
      "/v1/data/:key",
      doc({
        tags,
        summary: "Read an output record by id, else by producer name (latest)",
        responses: { 200: json(OutputRecord, "The record.") },
        errors: [401, 404, 405, 429],
        admin: true,
      }),
      async function staticEmitWins(c, next) {
        // `/v1/data/emit` is the POST route's own path, so GET there is 405 as in
        // 0.1.2, before any auth (reference/http.md §2.1, §6.4)
        if (c.req.param("key") === "emit") {
          throw unmatched(["POST"], c.req.method, c.req.path);
        }
        await next();
      },
      adminGuard(deps.apiToken),
      async (c) => {
        const key = c.req.param("key");
        const record = await deps.data.getOutput(key) ?? await deps.data.latestByProducer(key);
        if (!record) {
          throw new SwitchboardError("not_found", `output not found (id nor name): ${key}`);
        }
        return c.json(publicRecord(record), 200);
      },
    );
}
