/**
 * The in-memory Blueprint store. Each call runs its compare-and-append without an
 * `await` in between, so calls on one id are serialized by the event loop. Values
 * are cloned on the way in and out, so callers never share the store's objects.
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import { SwitchboardError } from "../protocol/errors.ts";
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
  type WriteInput,
  type WriteResult,
} from "./blueprint_store.ts";

type Commit =
  | ({ kind: "content" } & HistoryEntry)
  | { kind: "archive" | "unarchive"; ts_ms: number };

interface Series {
  commits: Commit[];
  /** Body per version; a version's content never changes. */
  bodies: Map<string, BlueprintNorm>;
  head: string;
  archived: boolean;
}

/**
 * Characters of Blueprint bodies and commit texts an in-memory store keeps (256
 * Mi): nothing is ever deleted from it, so past this a new version answers 507.
 */
export const MEMORY_BLUEPRINT_MAX_CHARS = 256 * 1024 * 1024;

/** Creates an empty in-memory {@link BlueprintStore}. */
export function createMemoryBlueprintStore(
  options: BlueprintStoreOptions & { maxChars?: number } = {},
): BlueprintStore {
  const { now = Date.now, maxChars = MEMORY_BLUEPRINT_MAX_CHARS } = options;
  const series = new Map<string, Series>();
  let heldChars = 0;
  /** Counts `chars` more kept, or throws 507 `storage_full` past the bound. */
  const keep = (chars: number) => {
    if (heldChars + chars > maxChars) {
      throw new SwitchboardError(
        "storage_full",
        `storage full: this :memory: server keeps ${maxChars} characters of Blueprints ` +
          `and holds ${heldChars}; ` +
          "use a KV file (SWITCHBOARD_KV) for more",
      );
    }
    heldChars += chars;
  };

  function stored(id: string, s: Series, version: string): StoredBlueprint {
    const body = s.bodies.get(version);
    if (body === undefined) throw StoreError.notFound(id, version);
    return copyOnRead(id, version, body);
  }

  function mark(id: string, archive: boolean): void {
    const s = series.get(id);
    if (s === undefined) throw StoreError.idNotFound(id);
    s.commits.push({ kind: archive ? "archive" : "unarchive", ts_ms: now() });
    s.archived = archive;
  }

  return {
    kind: "memory",

    // deno-lint-ignore require-await
    async readHead(id) {
      const s = series.get(id);
      if (s === undefined) throw StoreError.headEmpty(id);
      if (s.archived) throw StoreError.archived(id);
      return stored(id, s, s.head);
    },

    // deno-lint-ignore require-await
    async readVersion(id, version, { allowArchived = false } = {}) {
      const v = version.toLowerCase();
      const s = series.get(id);
      if (s === undefined) throw StoreError.notFound(id, v);
      if (s.archived && !allowArchived) throw StoreError.archived(id);
      return stored(id, s, v);
    },

    // deno-lint-ignore require-await
    async write(id: string, input: WriteInput): Promise<WriteResult> {
      checkWriteInput(id, input);
      const { version } = input;
      const s = series.get(id);
      if (s?.archived) throw StoreError.archived(id);
      if (s?.head === version) return { version, written: false };
      const entry: HistoryEntry = {
        version,
        parents: s === undefined ? [] : [s.head],
        ts_ms: now(),
        rationale: input.rationale ?? "seed",
        version_label: input.blueprint.metadata.version_label ?? null,
      };
      const fresh = !s?.bodies.has(version);
      keep((input.rationale?.length ?? 0) + (fresh ? JSON.stringify(input.blueprint).length : 0));
      const body = structuredClone(input.blueprint);
      if (s === undefined) {
        const bodies = new Map([[version, body]]);
        series.set(id, {
          commits: [{ kind: "content", ...entry }],
          bodies,
          head: version,
          archived: false,
        });
      } else {
        s.commits.push({ kind: "content", ...entry });
        if (!s.bodies.has(version)) s.bodies.set(version, body);
        s.head = version;
      }
      return { version, written: true };
    },

    // deno-lint-ignore require-await
    async history(id, limit) {
      const max = clampLimit(limit);
      const out: HistoryEntry[] = [];
      const commits = series.get(id)?.commits ?? [];
      for (let i = commits.length - 1; i >= 0 && out.length < max; i--) {
        const c = commits[i];
        if (c.kind !== "content") continue;
        const { kind: _, ...entry } = c;
        out.push({ ...entry, parents: [...entry.parents] });
      }
      return out;
    },

    // deno-lint-ignore require-await
    async info(id) {
      const s = series.get(id);
      return s === undefined ? null : { id, head: s.head, archived: s.archived };
    },

    // deno-lint-ignore require-await
    async listIds({ includeArchived = false } = {}) {
      const out: SeriesInfo[] = [];
      for (const [id, s] of series) {
        if (includeArchived || !s.archived) out.push({ id, head: s.head, archived: s.archived });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    // deno-lint-ignore require-await
    async archive(id) {
      mark(id, true);
    },

    // deno-lint-ignore require-await
    async unarchive(id) {
      mark(id, false);
    },
  };
}
