/**
 * Optional fields that may also be `null`.
 *
 * @module
 */
import { z } from "./zod.ts";

/**
 * An optional field that may also be `null`, read as absent: 0.1.2 reads such
 * fields as Rust `Option`s, so a client that writes `null` for "none" is served.
 */
export function absent<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((value) => value ?? undefined).optional();
}
