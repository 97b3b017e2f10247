/**
 * REST bodies of the operator routes (SPEC §3).
 *
 * @module
 */
import { z } from "zod";
import { RequestFrame } from "./frames.ts";

/** `POST /v1/operators` body. `roles` may be omitted but not null. */
export const MintOperatorBody = z.object({ roles: z.array(z.string()).optional() });
export type MintOperatorBody = z.infer<typeof MintOperatorBody>;

/** `POST /v1/operators` answer. */
export const MintedOperator = z.object({
  sid: z.string(),
  token: z.string(),
  roles: z.array(z.string()),
});
export type MintedOperator = z.infer<typeof MintedOperator>;

/** `GET /v1/operators/:sid` answer. */
export const OperatorInfo = z.object({
  sid: z.string(),
  roles: z.array(z.string()),
  connected: z.boolean(),
  pending: z.int().min(0),
});
export type OperatorInfo = z.infer<typeof OperatorInfo>;

/** One row of `GET /v1/operators`. */
export const OperatorListItem = OperatorInfo.extend({
  created_at: z.string(),
  last_seen_at: z.string(),
});
export type OperatorListItem = z.infer<typeof OperatorListItem>;

/** `GET /v1/operators` answer, sorted by sid. */
export const OperatorList = z.object({ operators: z.array(OperatorListItem) });
export type OperatorList = z.infer<typeof OperatorList>;

/** `GET /v1/operators/:sid/pending` answer: the frames as sent, in order. */
export const PendingList = z.object({ pending: z.array(RequestFrame) });
export type PendingList = z.infer<typeof PendingList>;

/** `{ error }` body of every non-2xx answer. */
export const ErrorBody = z.object({ error: z.string() }).catchall(z.unknown());
export type ErrorBody = z.infer<typeof ErrorBody>;
