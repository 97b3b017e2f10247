/**
 * The PostgreSQL Blueprint store, shared by every instance of a cluster. A head
 * is read from the database every time (another instance may have moved it),
 * in one statement; a version's body is written once and never changes, so
 * bodies read are kept in memory (a bounded cache). A compare-and-append holds
 * a transaction-scoped advisory lock on the id, so writers of one id queue up.
 *
 * Tables (store/pg_schema.ts): `sb_bp_series` (id → last commit number, head,
 * archived), `sb_bp_commits` (id, n → the commit, no body) and
 * `sb_bp_versions` (id, version → the body, written once). Bodies are `json`,
 * which keeps their text as written.
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import {
  type BlueprintStore,
  type BlueprintStoreOptions,
  checkWriteInput,
  clampLimit,
  copyOnRead,
  type HistoryEntry,
  type SeriesInfo,
  type StoredBlueprint,
  StoreError,
} from "./blueprint_store.ts";
import type { CommitRecord, SeriesRecord } from "./blueprint_store_kv.ts";
import type { Sql, TxSql } from "./pg_sql.ts";

/** Takes the write lock of one series for the rest of the transaction. */
async function lockSeries(tx: TxSql, id: string): Promise<SeriesRecord | null> {
  await tx`SELECT pg_advisory_xact_lock(hashtext(${"sb_bp:" + id}))`;
  const [row] = await tx`SELECT seq, head, archived FROM sb_bp_series WHERE id = ${id}`;
  return row ? { seq: row.seq, head: row.head, archived: row.archived } : null;
}

/** A series' head as read. */
interface Head {
  version: string;
  archived: boolean;
}

/** The head query of one id in flight, and the one queued after it. */
interface HeadReads {
  current: Promise<Head | null>;
  next: Promise<Head | null> | undefined;
}

const noop = () => {};

/** Creates a {@link BlueprintStore} on `sql`. The caller owns `sql` and closes it. */
export function createPgBlueprintStore(
  sql: Sql,
  options: BlueprintStoreOptions = {},
): BlueprintStore {
  const { now = Date.now } = options;
  /** Bodies by id, then version (immutable once written); all forgotten when full. */
  const bodies = new Map<string, Map<string, BlueprintNorm>>();
  let held = 0;
  const MAX_BODIES = 512;
  const remember = (id: string, version: string, blueprint: BlueprintNorm) => {
    if (held >= MAX_BODIES) {
      bodies.clear();
      held = 0;
    }
    let versions = bodies.get(id);
    if (!versions) bodies.set(id, versions = new Map());
    if (!versions.has(version)) held++;
    versions.set(version, blueprint);
  };

  async function series(id: string): Promise<SeriesRecord | null> {
    const [row] = await sql`SELECT seq, head, archived FROM sb_bp_series WHERE id = ${id}`;
    return row ? { seq: row.seq, head: row.head, archived: row.archived } : null;
  }

  /**
   * The stored version, read from the database once: later reads share the
   * body held here, and the caller's copy is made only if it reads it (a run on
   * a version the engine holds compiled does not).
   */
  async function stored(id: string, version: string): Promise<StoredBlueprint> {
    const known = bodies.get(id)?.get(version);
    if (known) return copyOnRead(id, version, known);
    const [row] =
      await sql`SELECT body FROM sb_bp_versions WHERE id = ${id} AND version = ${version}`;
    if (!row) throw StoreError.notFound(id, version);
    // the store only ever writes normalized Blueprints under a version
    remember(id, version, structuredClone(row.body as BlueprintNorm));
    return { id, version, blueprint: row.body as BlueprintNorm };
  }

  /** The versions of `id` whose body this instance holds. */
  const knownVersions = (id: string): string[] => [...(bodies.get(id)?.keys() ?? [])];

  /** One statement: the head of `id`, and its body (remembered) unless this instance has it. */
  async function queryHead(id: string): Promise<Head | null> {
    const [row] = await sql`SELECT s.head, s.archived, v.body FROM sb_bp_series s
      LEFT JOIN sb_bp_versions v ON v.id = s.id AND v.version = s.head
        AND NOT (s.head = ANY(${knownVersions(id)}::text[]))
      WHERE s.id = ${id}`;
    if (!row) return null;
    const version = row.head as string;
    if (row.body !== null) remember(id, version, row.body as BlueprintNorm);
    return { version, archived: row.archived as boolean };
  }

  /** Head reads by id: the one in flight, and the one the callers since then share. */
  const heads = new Map<string, HeadReads>();
  /**
   * The head of `id`, read by at most one query at a time: the callers that come
   * while one is in flight share the next, which starts after all of their calls
   * (so it sees every commit made before any of them asked).
   */
  function sharedHead(id: string): Promise<Head | null> {
    const slot = heads.get(id);
    if (slot === undefined) {
      const reads: HeadReads = { current: queryHead(id), next: undefined };
      heads.set(id, reads);
      forgetWhenDone(id, reads);
      return reads.current;
    }
    return slot.next ??= slot.current.then(noop, noop).then(() => {
      slot.current = queryHead(id);
      slot.next = undefined;
      forgetWhenDone(id, slot);
      return slot.current;
    });
  }
  /** Drops the slot once its query is done and nobody waits for a next one. */
  function forgetWhenDone(id: string, reads: HeadReads): void {
    const query = reads.current;
    query.then(noop, noop).then(() => {
      if (reads.current === query && reads.next === undefined) heads.delete(id);
    });
  }

  async function appendMarker(id: string, archive: boolean): Promise<void> {
    await sql.begin(async (tx) => {
      const s = await lockSeries(tx, id);
      if (s === null) throw StoreError.idNotFound(id);
      const seq = s.seq + 1;
      const marker: CommitRecord = { kind: archive ? "archive" : "unarchive", ts_ms: now() };
      await tx`INSERT INTO sb_bp_commits (id, seq, entry) VALUES (${id}, ${seq}, ${
        tx.json(marker)
      })`;
      await tx`UPDATE sb_bp_series SET seq = ${seq}, archived = ${archive} WHERE id = ${id}`;
    });
  }

  return {
    kind: "pg",

    async readHead(id) {
      const head = await sharedHead(id);
      if (head === null) throw StoreError.headEmpty(id);
      if (head.archived) throw StoreError.archived(id);
      return await stored(id, head.version);
    },

    async readVersion(id, version, { allowArchived = false } = {}) {
      const v = version.toLowerCase();
      const s = await series(id);
      if (s === null) throw StoreError.notFound(id, v);
      if (s.archived && !allowArchived) throw StoreError.archived(id);
      return await stored(id, v);
    },

    async write(id, input) {
      checkWriteInput(id, input);
      const { version, blueprint } = input;
      return await sql.begin(async (tx) => {
        const s = await lockSeries(tx, id);
        if (s?.archived) throw StoreError.archived(id);
        if (s?.head === version) return { version, written: false };
        const seq = (s?.seq ?? 0) + 1;
        const entry: CommitRecord = {
          kind: "content",
          version,
          parents: s === null ? [] : [s.head],
          ts_ms: now(),
          rationale: input.rationale ?? "seed",
          version_label: blueprint.metadata.version_label ?? null,
        };
        await tx`INSERT INTO sb_bp_versions (id, version, body)
          VALUES (${id}, ${version}, ${tx.json(blueprint)})
          ON CONFLICT DO NOTHING`;
        await tx`INSERT INTO sb_bp_commits (id, seq, entry) VALUES (${id}, ${seq}, ${
          tx.json(entry)
        })`;
        await tx`INSERT INTO sb_bp_series (id, seq, head, archived)
          VALUES (${id}, ${seq}, ${version}, false)
          ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, head = excluded.head, archived = false`;
        return { version, written: true };
      });
    },

    async history(id, limit) {
      const max = clampLimit(limit);
      if (max === 0) return [];
      const rows = await sql`SELECT entry FROM sb_bp_commits
        WHERE id = ${id} AND entry->>'kind' = 'content'
        ORDER BY seq DESC LIMIT ${max}`;
      return rows.map((r): HistoryEntry => {
        const { kind: _, ...entry } = r.entry;
        return entry;
      });
    },

    async info(id) {
      const s = await series(id);
      return s === null ? null : { id, head: s.head, archived: s.archived };
    },

    async listIds({ includeArchived = false } = {}) {
      const rows = await sql`SELECT id, head, archived FROM sb_bp_series
        WHERE ${includeArchived} OR NOT archived ORDER BY id COLLATE "C"`;
      return rows.map((r): SeriesInfo => ({ id: r.id, head: r.head, archived: r.archived }));
    },

    archive(id) {
      return appendMarker(id, true);
    },

    unarchive(id) {
      return appendMarker(id, false);
    },
  };
}
