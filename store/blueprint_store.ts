/**
 * The Blueprint store (reference/blueprint.md §4.3, the TS column): per id, an
 * append-only series of commits. A content commit holds a normalized Blueprint and
 * its version; archive and unarchive markers hold only a time. The head is the
 * newest content commit, and a series is archived when its newest commit of any
 * kind is an archive marker.
 *
 * The store never computes versions (that is engine/blueprint's job): writers pass
 * the version with the Blueprint.
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import { type ErrorCode, SwitchboardError } from "../protocol/errors.ts";

/** The most history entries one call returns, and the scan depth of `semver_req`. */
export const HISTORY_MAX = 1024;

const BLUEPRINT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const VERSION = /^[0-9a-f]{64}$/;

/** True when `id` is a valid series id (`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`, §4.1). */
export function isBlueprintId(id: string): boolean {
  return BLUEPRINT_ID.test(id);
}

/** True when `version` is 64 lowercase hex characters. */
export function isVersion(version: string): boolean {
  return VERSION.test(version);
}

/** A Blueprint read from the store, with the version it is stored under. */
export interface StoredBlueprint {
  id: string;
  version: string;
  blueprint: BlueprintNorm;
}

/**
 * A caller's own copy of a stored body (values a store holds are never shared
 * with callers), made when it first reads `blueprint`: a run on a version the
 * engine already holds reads only the version.
 */
export function copyOnRead(id: string, version: string, body: BlueprintNorm): StoredBlueprint {
  let blueprint: BlueprintNorm | undefined;
  return {
    id,
    version,
    get blueprint() {
      return blueprint ??= structuredClone(body);
    },
  };
}

/** What {@link BlueprintStore.write} appends. */
export interface WriteInput {
  /** The version of `blueprint` (64 lowercase hex), computed by engine/blueprint. */
  version: string;
  blueprint: BlueprintNorm;
  /** The commit's one-line rationale. Default `seed`, as HTTP registration writes. */
  rationale?: string;
}

/** The outcome of a write: `written` is false when the content equals the head. */
export interface WriteResult {
  version: string;
  written: boolean;
}

/** One content commit, as history lists it (newest first). */
export interface HistoryEntry {
  version: string;
  /** The head this commit replaced, or `[]` for the first commit. */
  parents: string[];
  ts_ms: number;
  rationale: string;
  /** `metadata.version_label` of the Blueprint, or null when it has none. */
  version_label: string | null;
}

/** A series as listed: its head version and whether it is archived. */
export interface SeriesInfo {
  id: string;
  head: string;
  archived: boolean;
}

/** Options of {@link BlueprintStore.listIds}. */
export interface ListIdsOptions {
  /** Also list archived series. Default false. */
  includeArchived?: boolean;
}

/** Options of {@link BlueprintStore.readVersion}. */
export interface ReadVersionOptions {
  /** Read from an archived series too (for admin views). Default false. */
  allowArchived?: boolean;
}

/** Options shared by the store factories. */
export interface BlueprintStoreOptions {
  /** The clock for commit times. Default `Date.now`. */
  now?: () => number;
}

/**
 * The Blueprint store. Every method rejects with a {@link StoreError} for the
 * conditions the reference names, and with `SwitchboardError` (`bad_request`) for
 * malformed writes.
 */
export interface BlueprintStore {
  /** `memory`, `kv` or `pg`, for the doctor report. */
  readonly kind: "memory" | "kv" | "pg";
  /** The head. `head_empty` when the series has no content; `archived` when archived. */
  readHead(id: string): Promise<StoredBlueprint>;
  /** A version (either hex case). `not_found` when absent; `archived` unless allowed. */
  readVersion(id: string, version: string, options?: ReadVersionOptions): Promise<StoredBlueprint>;
  /**
   * Appends a content commit unless the version equals the head (then nothing is
   * written). The compare and the append are one atomic step per id. `archived`
   * when the series is archived.
   */
  write(id: string, input: WriteInput): Promise<WriteResult>;
  /** Content commits, newest first, at most `limit` (capped at 1024). Unknown id: `[]`. */
  history(id: string, limit?: number): Promise<HistoryEntry[]>;
  /** The series' head and archive flag, or null when it has no commits at all. */
  info(id: string): Promise<SeriesInfo | null>;
  /** Series sorted by id; archived ones only when asked. */
  listIds(options?: ListIdsOptions): Promise<SeriesInfo[]>;
  /** Appends an archive marker (repeats allowed). `id_not_found` for an id with no commits. */
  archive(id: string): Promise<void>;
  /** Appends an unarchive marker (repeats allowed). `id_not_found` for an id with no commits. */
  unarchive(id: string): Promise<void>;
}

/** What went wrong in a store call; routes map each kind to their own status and text. */
export type StoreErrorKind = "head_empty" | "archived" | "not_found" | "id_not_found" | "no_match";

const STORE_ERROR_CODE: Record<StoreErrorKind, ErrorCode> = {
  head_empty: "not_found",
  archived: "conflict",
  not_found: "not_found",
  id_not_found: "not_found",
  no_match: "not_found",
};

/**
 * A store condition. `message` is the reference text (`store: head ref empty: id=x`),
 * `detail` the same without the `store: ` prefix, for route texts such as
 * `read_head: <detail>`.
 */
export class StoreError extends SwitchboardError {
  readonly kind: StoreErrorKind;
  readonly id: string;
  readonly detail: string;
  constructor(kind: StoreErrorKind, id: string, detail: string, prefixed = true) {
    super(STORE_ERROR_CODE[kind], prefixed ? `store: ${detail}` : detail);
    this.name = "StoreError";
    this.kind = kind;
    this.id = id;
    this.detail = detail;
  }

  /** `store: head ref empty: id=<id>` */
  static headEmpty(id: string): StoreError {
    return new StoreError("head_empty", id, `head ref empty: id=${id}`);
  }

  /** `store: blueprint is archived: id=<id>` */
  static archived(id: string): StoreError {
    return new StoreError("archived", id, `blueprint is archived: id=${id}`);
  }

  /** `store: blueprint not found: id=<id> version=<hex>` */
  static notFound(id: string, version: string): StoreError {
    return new StoreError("not_found", id, `blueprint not found: id=${id} version=${version}`);
  }

  /** `store: blueprint id not found: <id>` */
  static idNotFound(id: string): StoreError {
    return new StoreError("id_not_found", id, `blueprint id not found: ${id}`);
  }

  /** `no version matches semver req: <req>` (no `store: ` prefix, as in the reference). */
  static noMatch(id: string, req: string): StoreError {
    return new StoreError("no_match", id, `no version matches semver req: ${req}`, false);
  }
}

/** True when `err` is a {@link StoreError}, optionally of one kind. */
export function isStoreError(err: unknown, kind?: StoreErrorKind): err is StoreError {
  return err instanceof StoreError && (kind === undefined || err.kind === kind);
}

/**
 * Checks a write before it touches a store: a valid id, a lowercase 64-hex version
 * and a Blueprint whose `id` is the series id. Throws `SwitchboardError`
 * (`bad_request`).
 */
export function checkWriteInput(id: string, input: WriteInput): void {
  if (!isBlueprintId(id)) throw new SwitchboardError("bad_request", "invalid blueprint id");
  if (!isVersion(input.version)) {
    throw new SwitchboardError("bad_request", `store: invalid version: ${input.version}`);
  }
  if (input.blueprint.id !== id) {
    throw new SwitchboardError("bad_request", `path id=${id} != body.id=${input.blueprint.id}`);
  }
}

/** The history limit actually used: an integer in 0..1024 (default 1024). */
export function clampLimit(limit: number = HISTORY_MAX): number {
  if (!Number.isFinite(limit)) return limit > 0 ? HISTORY_MAX : 0;
  return Math.min(HISTORY_MAX, Math.max(0, Math.trunc(limit)));
}
