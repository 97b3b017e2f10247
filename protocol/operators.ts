/**
 * REST bodies of the operator routes (SPEC §3).
 *
 * @module
 */
import { z } from "./zod.ts";
import { RequestFrame } from "./frames.ts";
import { ERROR_CODE_RULES } from "./error_codes.ts";
import { ERROR_STATUS, type ErrorCode } from "./errors.ts";

const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[]; // keys of a const table

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

/**
 * `{ error, code }` body of every non-2xx answer: the 0.1.2 text and a stable
 * machine-readable code (protocol/error_codes.ts), plus extras such as
 * `conflicts` or `issues`.
 */
export const ErrorBody = z.object({
  error: z.string().meta({ description: "Human-readable text (the 0.1.2 text where one exists)." }),
  code: z.enum([...ERROR_CODE_RULES.map(([code]) => code), ...ERROR_CODES]).meta({
    description: "Stable machine-readable code: a specific condition, or the generic code of " +
      "the status when there is no specific one.",
  }),
}).catchall(z.unknown());
export type ErrorBody = z.infer<typeof ErrorBody>;
