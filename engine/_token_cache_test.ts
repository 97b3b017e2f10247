import assert from "node:assert/strict";
import { encodeToken, tokenSigner } from "./captoken.ts";
import { createTokenCache, frozenToken, TOKEN_CACHE_SIZE } from "./_token_cache.ts";

const sign = tokenSigner(new Uint8Array(32).fill(7));
const signed = (nonce: string) =>
  sign({
    agent_id: "a",
    role: "worker",
    scopes: ["*"],
    issued_at: 1,
    expire_at: 2,
    max_uses: null,
    nonce,
  });

Deno.test("token cache answers a token signed here for its encoding, as verified", () => {
  const cache = createTokenCache();
  const token = frozenToken(signed("n1"));
  const encoded = encodeToken(token);
  cache.addSigned(encoded, token);
  assert.equal(cache.decode(encoded), token);
  assert.ok(cache.isVerified(token));
});

Deno.test("token cache marks only a frozen token verified", () => {
  const cache = createTokenCache();
  const loose = signed("n1");
  cache.markVerified(loose);
  assert.equal(cache.isVerified(loose), false);
  const decoded = cache.decode(encodeToken(loose));
  assert.ok(Object.isFrozen(decoded) && Object.isFrozen(decoded.scopes));
  assert.equal(cache.isVerified(decoded), false);
  cache.markVerified(decoded);
  assert.ok(cache.isVerified(decoded));
});

Deno.test("token cache starts over once it holds TOKEN_CACHE_SIZE strings", () => {
  const cache = createTokenCache();
  const first = encodeToken(signed("n0"));
  const a = cache.decode(first);
  for (let i = 1; i < TOKEN_CACHE_SIZE; i++) cache.decode(encodeToken(signed(`n${i}`)));
  assert.equal(cache.decode(first), a);
  cache.decode(encodeToken(signed("one more")));
  assert.notEqual(cache.decode(first), a);
});
