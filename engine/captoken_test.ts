import assert from "node:assert/strict";
import {
  base64UrlEncode,
  type CapToken,
  decodeToken,
  encodeToken,
  importSecret,
  signToken,
  tokenSigner,
} from "./captoken.ts";

const base: CapToken = {
  agent_id: "worker-of-T-0123456789abcdef",
  role: "worker",
  scopes: ["*"],
  issued_at: 1_765_000_000,
  expire_at: 1_765_001_800,
  max_uses: null,
  nonce: "0123456789abcdef0123456789abcdef",
  sig_hex: "ab".repeat(32),
};

Deno.test("encodeToken is base64url of JSON.stringify of the token, odd strings too", () => {
  const utf8 = new TextEncoder();
  for (
    const token of [
      base,
      { ...base, agent_id: 'a"b\\c é—\n\u0001', scopes: ["x", 'y"'], max_uses: 3 },
      { ...base, scopes: [] },
    ]
  ) {
    assert.equal(encodeToken(token), base64UrlEncode(utf8.encode(JSON.stringify(token))));
    assert.deepEqual(decodeToken(encodeToken(token)), token);
  }
});

Deno.test("tokenSigner signs as WebCrypto's HMAC does", async () => {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const { sig_hex: _, ...unsigned } = base;
  const sync = tokenSigner(secret)(unsigned);
  const viaWebCrypto = await signToken(await importSecret(secret), unsigned);
  assert.deepEqual(sync, viaWebCrypto);
  const other = tokenSigner(secret)({ ...unsigned, max_uses: 5, scopes: ["a", "b"] });
  const otherWeb = await signToken(await importSecret(secret), {
    ...unsigned,
    max_uses: 5,
    scopes: ["a", "b"],
  });
  assert.equal(other.sig_hex, otherWeb.sig_hex);
});
