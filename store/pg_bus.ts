/**
 * The cluster's bus: `LISTEN/NOTIFY` on one channel, carrying a topic, an id
 * and, when it fits the payload, the row as it was written (so the receiver
 * needs no read). Rows are the truth; a notification only says "this row is
 * now so". Notifications sent while a listener is disconnected are lost, so
 * each reconnect of the listener calls the heal handlers, which re-read the
 * tables.
 *
 * @module
 */
import type { Sql } from "./pg_sql.ts";

/** The channel every instance listens on. */
export const BUS_CHANNEL = "switchboard";

/**
 * Called with the id of a notification, the instance that sent it, and the row
 * it carries (undefined when it carries none: read the row).
 */
export type BusHandler = (id: string, from: string, row: unknown) => void;

/** The bus of one instance. */
export interface Bus {
  /** Notifies every instance (this one too) of `topic` and `id`, after the calling transaction commits. */
  publish(topic: string, id: string, sql?: Sql): Promise<void>;
  /** This instance's id (the `from` of its notes). */
  readonly instanceId: string;
  /** Handles notifications of `topic`; returns the way to stop. */
  on(topic: string, handler: BusHandler): () => void;
  /** Handles a listener reconnect (missed notifications); returns the way to stop. */
  onHeal(handler: () => void): () => void;
  /** How many times the listener has reconnected since it first listened. */
  readonly reconnects: number;
  close(): Promise<void>;
}

interface Note {
  t: string;
  id: string;
  from: string;
  row?: unknown;
}

/** The most bytes of a payload (PostgreSQL refuses 8000 and more). */
const MAX_NOTE_BYTES = 7_900;

/**
 * A notification's payload: `row` rides along when the payload stays under the
 * limit (measured in UTF-16 units x 3, an upper bound of its UTF-8 size, before
 * encoding it exactly), else it is left out and receivers read the row.
 */
export function busNote(topic: string, id: string, from: string, row?: unknown): string {
  const bare = JSON.stringify({ t: topic, id, from } satisfies Note);
  if (row === undefined) return bare;
  const full = JSON.stringify({ t: topic, id, from, row } satisfies Note);
  if (full.length * 3 < MAX_NOTE_BYTES) return full;
  return new TextEncoder().encode(full).length < MAX_NOTE_BYTES ? full : bare;
}

function parseNote(payload: string): Note | undefined {
  try {
    const n = JSON.parse(payload);
    if (typeof n?.t === "string" && typeof n?.id === "string" && typeof n?.from === "string") {
      return n;
    }
  } catch { /* not ours */ }
  return undefined;
}

/** Listens on {@link BUS_CHANNEL} through `sql` and returns the bus once listening. */
export async function openBus(sql: Sql, options: { instanceId: string }): Promise<Bus> {
  const handlers = new Map<string, Set<BusHandler>>();
  const healers = new Set<() => void>();
  let listens = 0;
  const listener = await sql.listen(
    BUS_CHANNEL,
    (payload) => {
      const note = parseNote(payload);
      if (!note) return;
      for (const h of handlers.get(note.t) ?? []) h(note.id, note.from, note.row);
    },
    () => {
      // the first call is the first LISTEN; every later one follows a reconnect
      if (listens++ === 0) return;
      for (const h of healers) h();
    },
  );
  return {
    instanceId: options.instanceId,
    async publish(topic, id, tx = sql) {
      await tx`SELECT pg_notify(${BUS_CHANNEL}, ${busNote(topic, id, options.instanceId)})`;
    },
    on(topic, handler) {
      let set = handlers.get(topic);
      if (!set) handlers.set(topic, set = new Set());
      set.add(handler);
      return () => set.delete(handler);
    },
    onHeal(handler) {
      healers.add(handler);
      return () => healers.delete(handler);
    },
    get reconnects() {
      return Math.max(0, listens - 1);
    },
    async close() {
      await listener.unlisten();
    },
  };
}
