/**
 * The signals of nested asks, grouped by the req_id of their spawn: each one
 * aborts with {@link ParentEnded} when its spawn ends (settled, cancelled, or
 * given up by its run). Both seat kinds hold one.
 *
 * @module
 */
import type { FaceCallOptions } from "../engine/faces.ts";
import type { RequestRecord } from "../protocol/runs.ts";
import { ParentEnded } from "./abort_outcome.ts";
import type { NestedAskOptions } from "./seat.ts";

/**
 * The face options of a nested ask for the worker of spawn `parent`: it ends
 * with `child` (the spawn's end) or the caller's own signal, carries the
 * spawn's context and deadline, and takes a dedupe slot of its own.
 */
export function nestedAskFace(
  parent: Pick<RequestRecord, "run_id" | "attempt" | "frame" | "deadline_at">,
  parentReqId: string,
  child: AbortSignal,
  options: NestedAskOptions,
): FaceCallOptions {
  return {
    signal: options.signal ? AbortSignal.any([child, options.signal]) : child,
    runId: parent.run_id,
    attempt: parent.attempt,
    schema: options.schema,
    parentReqId,
    context: parent.frame.context,
    deadlineAt: parent.deadline_at,
    slot: `nested-${crypto.randomUUID()}`,
  };
}

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
