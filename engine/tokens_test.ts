import assert from "node:assert/strict";
import { encodeToken, importSecret } from "./captoken.ts";
import { createMemoryRunStore } from "../store/run_store.ts";
import { createTokenAuthority, type MintedWorker, TOKEN_CACHE_SIZE, TokenError } from "./tokens.ts";

async function authority(start = 1_000_000_000_000) {
  const clock = { ms: start };
  const key = await importSecret(new Uint8Array(32).fill(7));
  const tokens = createTokenAuthority({ key, now: () => clock.ms });
  return { tokens, clock };
}

/** Counts WebCrypto HMAC verifies while `fn` runs. */
async function countVerifies(fn: () => Promise<void>): Promise<number> {
  const original = crypto.subtle.verify;
  let calls = 0;
  crypto.subtle.verify = function (...args: Parameters<typeof original>) {
    calls++;
    return original.apply(crypto.subtle, args);
  };
  try {
    await fn();
  } finally {
    crypto.subtle.verify = original;
  }
  return calls;
}

function refusedAs(kind: TokenError["kind"]) {
  return (err: unknown) => err instanceof TokenError && err.kind === kind;
}

Deno.test("tokens.decode returns one frozen token per encoded string", async () => {
  const { tokens } = await authority();
  const { encoded } = await tokens.mintWorker("T-1", "run-1", 60);
  const a = tokens.decode(encoded);
  assert.equal(tokens.decode(encoded), a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.scopes));
  assert.throws(() => tokens.decode(encoded + "!"), /invalid token/);
});

Deno.test("tokens.verify checks a known MAC once and every other rule each time", async () => {
  const { tokens, clock } = await authority();
  const { encoded } = await tokens.mintWorker("T-1", "run-1", 60, 3);
  const token = tokens.decode(encoded);
  const calls = await countVerifies(async () => {
    await tokens.verify(token, "fetch_prompt", "T-1");
    await tokens.verify(tokens.decode(encoded), "post_result", "T-1");
  });
  assert.equal(calls, 0, "minted here, so its MAC is known good");
  await assert.rejects(tokens.verify(token, "answer_query", "T-1"), refusedAs("role"));
  await assert.rejects(tokens.verify(token, "fetch_prompt", "T-2"), refusedAs("task_mismatch"));
  await assert.rejects(tokens.verify(token, "fetch_prompt", "T-1"), refusedAs("exhausted"));
  clock.ms += 61_000;
  await assert.rejects(tokens.verify(token, "fetch_prompt", "T-1"), refusedAs("expired"));
});

Deno.test("tokens.verify refuses a forged token every time, after the real one passed", async () => {
  const { tokens } = await authority();
  const { encoded } = await tokens.mintWorker("T-1", "run-1", 60);
  const token = tokens.decode(encoded);
  await tokens.verify(token, "fetch_prompt", "T-1");
  const flipped = (token.sig_hex[0] === "0" ? "1" : "0") + token.sig_hex.slice(1);
  const forgeries = [
    encodeToken({ ...token, sig_hex: flipped }),
    encodeToken({ ...token, expire_at: token.expire_at + 3600 }),
    encodeToken({ ...token, role: "operator" }),
  ];
  const calls = await countVerifies(async () => {
    for (let i = 0; i < 2; i++) {
      for (const forged of forgeries) {
        await assert.rejects(
          tokens.verify(tokens.decode(forged), "fetch_prompt", "T-1"),
          refusedAs("signature"),
        );
      }
    }
    await assert.rejects(
      tokens.verify({ ...token, expire_at: token.expire_at + 1 }, "fetch_prompt", "T-1"),
      refusedAs("signature"),
    );
  });
  assert.equal(calls, 7);
});

Deno.test("tokens.verify remembers a MAC it checked itself, and an ended run still answers ended", async () => {
  const { tokens: minter } = await authority();
  const { encoded } = await minter.mintWorker("T-1", "run-1", 60);
  const key = await importSecret(new Uint8Array(32).fill(7));
  // Another authority with the same key and the record (a restart): the MAC is unknown to it.
  const record = minter.record(minter.decode(encoded).nonce)!;
  const tokens = createTokenAuthority({ key, now: () => 1_000_000_000_000, records: [record] });
  const calls = await countVerifies(async () => {
    await tokens.verify(tokens.decode(encoded), "fetch_prompt", "T-1");
    await tokens.verify(tokens.decode(encoded), "fetch_prompt", "T-1");
  });
  assert.equal(calls, 1);
  await tokens.endRun("run-1");
  await assert.rejects(tokens.verify(tokens.decode(encoded), "fetch_prompt"), refusedAs("ended"));
});

Deno.test("tokens.decode remembers at most TOKEN_CACHE_SIZE strings", async () => {
  const { tokens } = await authority();
  const first = await tokens.mintSession("a-0", "observer", 60);
  const encodedFirst = encodeToken(first);
  const decodedFirst = tokens.decode(encodedFirst);
  for (let i = 1; i <= TOKEN_CACHE_SIZE; i++) {
    tokens.decode(encodeToken({ ...first, agent_id: `a-${i}` }));
  }
  const again = tokens.decode(encodedFirst);
  assert.notEqual(again, decodedFirst);
  assert.deepEqual(again, decodedFirst);
});

Deno.test("endRun retires a run's records: they still answer ended, and memory stays bounded", async () => {
  const key = await importSecret(new Uint8Array(32).fill(7));
  const tokens = createTokenAuthority({ key, now: () => 1_000_000_000_000, retiredMax: 8 });
  const minted: MintedWorker[] = [];
  for (let i = 0; i < 12; i++) {
    minted.push(await tokens.mintWorker(`T-${i}`, `run-${i}`, 600));
  }
  assert.deepEqual(tokens.sizes(), { live: 12, retired: 0 });
  await tokens.endRun("run-0");
  assert.deepEqual(tokens.sizes(), { live: 11, retired: 1 });
  await assert.rejects(tokens.verify(minted[0].token, "fetch_prompt", "T-0"), refusedAs("ended"));
  await assert.rejects(tokens.byHandle(minted[0].handle), refusedAs("ended"));
  assert.equal(tokens.record(minted[0].token.nonce)?.ended, true);
  // A live run's token is untouched.
  assert.equal((await tokens.verify(minted[1].token, "fetch_prompt", "T-1")).task_id, "T-1");

  for (let i = 1; i < 12; i++) await tokens.endRun(`run-${i}`);
  const { live, retired } = tokens.sizes();
  assert.equal(live, 0);
  assert.ok(retired <= 8, `retired ${retired} > 8`);
  // The oldest were dropped: they answer as unknown, like tokens from before a restart.
  await assert.rejects(
    tokens.verify(minted[0].token, "fetch_prompt", "T-0"),
    refusedAs("not_found"),
  );
  await assert.rejects(tokens.byHandle(minted[0].handle), refusedAs("not_found"));
  // The newest still answer ended.
  await assert.rejects(tokens.verify(minted[11].token, "fetch_prompt", "T-11"), refusedAs("ended"));
});

Deno.test("a token dropped from memory still answers ended when its store says so", async () => {
  const key = await importSecret(new Uint8Array(32).fill(7));
  const store = createMemoryRunStore();
  const tokens = createTokenAuthority({
    key,
    now: () => 1_000_000_000_000,
    persist: store,
    retiredMax: 1,
  });
  const a = await tokens.mintWorker("T-a", "run-a", 600);
  const b = await tokens.mintWorker("T-b", "run-b", 600);
  await tokens.endRun("run-a");
  await tokens.endRun("run-b"); // run-a's record leaves memory here
  await assert.rejects(tokens.verify(a.token, "fetch_prompt", "T-a"), refusedAs("ended"));
  await assert.rejects(tokens.byHandle(a.handle), refusedAs("ended"));

  // After a restart only live records are loaded; ended ones answer from the store.
  const restarted = createTokenAuthority({
    key,
    now: () => 1_000_000_000_000,
    persist: store,
    records: await store.listLiveTokens(),
  });
  await assert.rejects(restarted.verify(b.token, "fetch_prompt", "T-b"), refusedAs("ended"));
  await assert.rejects(restarted.byHandle(b.handle), refusedAs("ended"));
  const unknown = { ...b.token, nonce: "0".repeat(32) };
  await assert.rejects(restarted.byHandle("wh-00000000"), refusedAs("not_found"));
  await assert.rejects(restarted.verify(unknown, "fetch_prompt"), refusedAs("signature"));
});
