/**
 * Wire shapes of the Blueprint store routes (reference/blueprint.md §4.5, SPEC §6).
 * Versions are 64 lowercase hex characters everywhere.
 *
 * @module
 */
import { z } from "./zod.ts";
import { Blueprint } from "./blueprint.ts";

/** A Blueprint version: lowercase hex SHA-256. */
export const BlueprintVersion = z.string().regex(/^[0-9a-f]{64}$/);
export type BlueprintVersion = z.infer<typeof BlueprintVersion>;

/** `POST /v1/blueprints/:id` answer: 201 with `seeded: true`, 200 with `seeded: false`. */
export const BlueprintRegistered = z.object({
  id: z.string(),
  version: BlueprintVersion,
  seeded: z.boolean(),
  /** Only when there are some: `spawner_hints.layers` keys that are unknown or repeated. */
  warnings: z.array(z.string()).optional(),
});
export type BlueprintRegistered = z.infer<typeof BlueprintRegistered>;

/** `GET /v1/blueprints/:id/head` (and `GET /v1/blueprints/:id`) answer: the normalized Blueprint. */
export const BlueprintHead = z.object({
  id: z.string(),
  version: BlueprintVersion,
  blueprint: Blueprint,
});
export type BlueprintHead = z.infer<typeof BlueprintHead>;

/** `GET /v1/blueprints/:id/versions/:version` answer. */
export const BlueprintAtVersion = BlueprintHead.extend({ archived: z.boolean() });
export type BlueprintAtVersion = z.infer<typeof BlueprintAtVersion>;

/** `GET /v1/blueprints/:id/history` query: `limit` defaults to 20 and is capped at 1024. */
export const BlueprintHistoryQuery = z.object({
  limit: z.coerce.number().int().min(0).optional(),
});
export type BlueprintHistoryQuery = z.infer<typeof BlueprintHistoryQuery>;

/** One history entry, newest first. `version_label` is null when absent; `rationale` `""` when missing. */
export const BlueprintHistoryEntry = z.object({
  hash: BlueprintVersion,
  version_label: z.string().nullable(),
  rationale: z.string(),
});
export type BlueprintHistoryEntry = z.infer<typeof BlueprintHistoryEntry>;

/** `GET /v1/blueprints/:id/history` answer. */
export const BlueprintHistory = z.object({
  count: z.int().min(0),
  entries: z.array(BlueprintHistoryEntry),
});
export type BlueprintHistory = z.infer<typeof BlueprintHistory>;

/** One series of `GET /v1/blueprints`: its head version and archive flag. */
export const BlueprintListEntry = z.object({
  id: z.string(),
  version: BlueprintVersion,
  archived: z.boolean(),
});
export type BlueprintListEntry = z.infer<typeof BlueprintListEntry>;

/**
 * `GET /v1/blueprints[?include_archived=true]` answer: `ids` sorted (the
 * reference's shape) and `blueprints` with each head and archive flag (SPEC §6).
 */
export const BlueprintList = z.object({
  count: z.int().min(0),
  ids: z.array(z.string()),
  blueprints: z.array(BlueprintListEntry),
});
export type BlueprintList = z.infer<typeof BlueprintList>;
