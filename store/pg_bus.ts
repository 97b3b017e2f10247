/**
 * The cluster's bus: `LISTEN/NOTIFY` on one channel, carrying a topic and an
 * id only. Rows are the truth; a notification only says "look at this row
 * now". Notifications sent while a listener is disconnected are lost, so each
 * reconnect of the listener calls the heal handlers, which re-read the tables.
 *
 * @module
 */
import type { Sql } from "./pg_sql.ts";

/** The channel every instance listens on. */
export const BUS_CHANNEL = "switchboard";

/** Called with the id of a notification and the instance that sent it. */
export type BusHandler = (id: string, from: string) => void;

/** The bus of one instance. */
export interface Bus {
  /** Notifies every instance (this one too) of `topic` and `id`, after the calling transaction commits. */
  publish(topic: string, id: string, sql?: Sql): Promise<void>;
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
      for (const h of handlers.get(note.t) ?? []) h(note.id, note.from);
    },
    () => {
      // the first call is the first LISTEN; every later one follows a reconnect
      if (listens++ === 0) return;
      for (const h of healers) h();
    },
  );
  return {
    async publish(topic, id, tx = sql) {
      const note: Note = { t: topic, id, from: options.instanceId };
      await tx`SELECT pg_notify(${BUS_CHANNEL}, ${JSON.stringify(note)})`;
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
