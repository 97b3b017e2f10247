/**
 * The HMAC secret for capability tokens, generated once and kept.
 *
 * @module
 */

/** Where the secret lives. */
export interface SecretStore {
  /** Returns the stored secret (hex), storing `candidate` first if there is none. */
  getOrCreateSecret(candidate: string): Promise<string>;
}

/** A secret store in memory: the first candidate wins for the process. */
export function createMemorySecretStore(): SecretStore {
  let secret: string | undefined;
  return {
    getOrCreateSecret(candidate) {
      secret ??= candidate;
      return Promise.resolve(secret);
    },
  };
}
