/**
 * JSON values. Every free-form wire value is validated as JSON.
 *
 * @module
 */
import { z } from "./zod.ts";

/** Any JSON value. */
export const Json = z.json();
/** Any JSON value. */
export type Json = z.infer<typeof Json>;

/** A JSON object. */
export type JsonObject = { [key: string]: Json };
