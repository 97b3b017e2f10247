/**
 * The signals of nested asks, grouped by the req_id of their spawn: each one
 * aborts with {@link ParentEnded} when its spawn ends (settled, cancelled, or
 * given up by its run). Both seat kinds hold one.
 *
 * @module
 */
import { ParentEnded } from "./abort_outcome.ts";

/** The spawn a group of nested asks belongs to. */
export interface SpawnOfAsks {
  runId: string | undefined;
  taskId: string;
  attempt: number;
}

interface Group extends SpawnOfAsks {
  controllers: Set<AbortController>;
}

/** The nested asks' signals of one seat. */
export interface NestedSignals {
  /** A signal that aborts when the spawn `parentReqId` ends; `release` it once the ask is done. */
  child(parentReqId: string, spawn: SpawnOfAsks): { signal: AbortSignal; release(): void };
  /** The spawn `parentReqId` ended: its nested asks end with it. */
  end(parentReqId: string): void;
  /** Ends the nested asks of every spawn that `match` picks. */
  endWhere(match: (spawn: SpawnOfAsks) => boolean): void;
}

/** Creates an empty set of groups. */
export function createNestedSignals(): NestedSignals {
  const groups = new Map<string, Group>();

  const end = (parentReqId: string) => {
    const group = groups.get(parentReqId);
    if (!group) return;
    groups.delete(parentReqId);
    for (const controller of group.controllers) controller.abort(new ParentEnded());
  };

  return {
    child(parentReqId, spawn) {
      const controller = new AbortController();
      let group = groups.get(parentReqId);
      if (!group) {
        group = { ...spawn, controllers: new Set() };
        groups.set(parentReqId, group);
      }
      const { controllers } = group;
      controllers.add(controller);
      return {
        signal: controller.signal,
        release: () => {
          controllers.delete(controller);
          if (controllers.size === 0 && groups.get(parentReqId) === group) {
            groups.delete(parentReqId);
          }
        },
      };
    },
    end,
    endWhere(match) {
      for (const [parentReqId, group] of groups) if (match(group)) end(parentReqId);
    },
  };
}
