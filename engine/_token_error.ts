/**
 * Why the token authority refused a token.
 *
 * @module
 */

/** Why a token was refused; routes map each kind to a status. */
export type TokenErrorKind =
  | "signature"
  | "expired"
  | "role"
  | "not_found"
  | "exhausted"
  | "task_mismatch"
  | "ended";

/** A refused token. The message is the 0.1.2 text. */
export class TokenError extends Error {
  readonly kind: TokenErrorKind;
  constructor(kind: TokenErrorKind, message: string) {
    super(message);
    this.name = "TokenError";
    this.kind = kind;
  }
}
