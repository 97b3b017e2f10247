import assert from "node:assert/strict";
import { isSwitchboardError } from "../protocol/errors.ts";
import type { Json } from "../protocol/json.ts";
import {
  type BlobRef,
  deleteBlob,
  getBlob,
  INLINE_MAX,
  kvSizeEstimate,
  putBlob,
} from "./kv_blob.ts";

const PREFIX = ["blobs"];

/** A JSON value of about `bytes` bytes with varied content (strings, numbers, nesting). */
function bigValue(bytes: number): Json {
  const items: Json[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const item = { i, name: `item-${i}-é`, tags: ["a", "ü", null], n: i / 7, ok: i % 2 === 0 };
    size += JSON.stringify(item).length;
    items.push(item);
  }
  return { items, emoji: "😀".repeat(100) };
}

async function chunkCount(kv: Deno.Kv): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: PREFIX })) n++;
  return n;
}

Deno.test("putBlob keeps a small value inline and getBlob returns it", async () => {
  using kv = await Deno.openKv(":memory:");
  const value = { a: [1, "two", null, true], b: { c: 3.5 } };
  const ref = await putBlob(kv, PREFIX, value);
  assert.deepEqual(ref, { kind: "inline", value });
  assert.deepEqual(await getBlob(kv, PREFIX, ref), value);
  assert.equal(await chunkCount(kv), 0);
});

Deno.test("putBlob chunks a 300 KiB value and getBlob round-trips it", async () => {
  using kv = await Deno.openKv(":memory:");
  const value = bigValue(300 * 1024);
  const ref = await putBlob(kv, PREFIX, value);
  assert.equal(ref.kind, "chunked");
  assert.ok(ref.kind === "chunked" && ref.chunks >= 5);
  assert.deepEqual(await getBlob(kv, PREFIX, ref), value);
  assert.ok(JSON.stringify(ref).length < 200, "the ref stays small");
});

Deno.test("putBlob writes a 2 MiB value over several commits and getBlob round-trips it", async () => {
  using kv = await Deno.openKv(":memory:");
  const value = bigValue(2 * 1024 * 1024);
  const ref = await putBlob(kv, PREFIX, value);
  assert.ok(ref.kind === "chunked" && ref.chunks > 24, "more chunks than one commit holds");
  assert.deepEqual(await getBlob(kv, PREFIX, ref), value);
  assert.equal(await chunkCount(kv), ref.chunks);
});

Deno.test("a chunked ref can be swapped atomically in a record", async () => {
  using kv = await Deno.openKv(":memory:");
  const first = await putBlob(kv, PREFIX, bigValue(200 * 1024));
  await kv.set(["record"], { ref: first });
  const record = await kv.get<{ ref: BlobRef }>(["record"]);
  const second = await putBlob(kv, PREFIX, bigValue(400 * 1024));
  const res = await kv.atomic().check(record).set(["record"], { ref: second }).commit();
  assert.ok(res.ok);
  await deleteBlob(kv, PREFIX, first);
  const now = await kv.get<{ ref: BlobRef }>(["record"]);
  assert.ok(now.value);
  assert.deepEqual(await getBlob(kv, PREFIX, now.value.ref), bigValue(400 * 1024));
});

Deno.test("deleteBlob removes every chunk and a later getBlob fails", async () => {
  using kv = await Deno.openKv(":memory:");
  const ref = await putBlob(kv, PREFIX, bigValue(150 * 1024));
  await deleteBlob(kv, PREFIX, ref);
  assert.equal(await chunkCount(kv), 0);
  await assert.rejects(() => getBlob(kv, PREFIX, ref), (err) => {
    assert.ok(isSwitchboardError(err, "internal"));
    assert.match(err.message, /^store: blob incomplete: id=/);
    return true;
  });
  await deleteBlob(kv, PREFIX, { kind: "inline", value: 1 });
});

Deno.test("getBlob refuses a blob with a missing middle chunk", async () => {
  using kv = await Deno.openKv(":memory:");
  const ref = await putBlob(kv, PREFIX, bigValue(200 * 1024));
  assert.ok(ref.kind === "chunked");
  await kv.delete([...PREFIX, ref.id, 1]);
  await assert.rejects(() => getBlob(kv, PREFIX, ref), /blob incomplete/);
});

Deno.test("putBlob chunks a value whose wide strings would overflow a KV value", async () => {
  using kv = await Deno.openKv(":memory:");
  const value = { text: "x".repeat(40 * 1024) + "😀" }; // 40 KiB of JSON, ~80 KiB in KV
  assert.ok(kvSizeEstimate(value) > INLINE_MAX);
  const ref = await putBlob(kv, PREFIX, value);
  assert.equal(ref.kind, "chunked");
  assert.deepEqual(await getBlob(kv, PREFIX, ref), value);
});

Deno.test("every inline ref fits in one KV value", async () => {
  using kv = await Deno.openKv(":memory:");
  const shapes: ((n: number) => Json)[] = [
    (n) => "x".repeat(n),
    (n) => "ü".repeat(n),
    (n) => "€".repeat(n),
    (n) => Array.from({ length: n }, (_, i) => i + 0.5),
    (n) => Array.from({ length: n }, () => null),
    (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])),
    (n) => Array.from({ length: n }, () => []),
  ];
  for (const shape of shapes) {
    // grow the value until it no longer stays inline, then store the last inline one
    let n = 64;
    while (kvSizeEstimate(shape(n * 2)) <= INLINE_MAX) n *= 2;
    let lo = n, hi = n * 2;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (kvSizeEstimate(shape(mid)) <= INLINE_MAX) lo = mid;
      else hi = mid;
    }
    const ref = await putBlob(kv, PREFIX, shape(lo));
    assert.equal(ref.kind, "inline");
    await kv.set(["inline"], { ref, other: "room for a few small fields" });
  }
});

Deno.test("putBlob with inlineMax 0 always chunks, and keys like __proto__ survive", async () => {
  using kv = await Deno.openKv(":memory:");
  const value = JSON.parse('{"__proto__":{"x":1},"constructor":null}');
  const ref = await putBlob(kv, PREFIX, value, { inlineMax: 0 });
  assert.equal(ref.kind, "chunked");
  const back = await getBlob(kv, PREFIX, ref);
  assert.deepEqual(Object.keys(back as object), ["__proto__", "constructor"]);
  assert.equal(JSON.stringify(back), JSON.stringify(value));
});

Deno.test("kvSizeEstimate counts what follows an undefined field (it once stopped there)", async () => {
  using kv = await Deno.openKv(":memory:");
  // `undefined` before the large field in walk order: the estimate must still see it
  const value = { big: "x".repeat(70 * 1024), gap: undefined } as unknown as Json;
  assert.ok(kvSizeEstimate(value) > INLINE_MAX);
  const ref = await putBlob(kv, PREFIX, value);
  assert.equal(ref.kind, "chunked");
});

Deno.test("kvSizeEstimate walks an array of 500,000 items (spreading it overflowed the stack)", () => {
  // a run's ctx may hold such an array; the throw came from the KV write queue and
  // ended the server process
  const items = Array.from({ length: 500_000 }, (_, i) => i);
  assert.equal(kvSizeEstimate(items), 4 + 16 + 9 * 500_000);
  assert.equal(kvSizeEstimate({ a: [items] }), 4 + 12 + 6 + 1 + 16 + 16 + 9 * 500_000);
});

Deno.test("kvSizeEstimate stops walking once it passes its limit", () => {
  const wide: Record<string, number> = {};
  for (let i = 0; i < 150_000; i++) wide[i.toString(36)] = i;
  const whole = kvSizeEstimate(wide);
  const cut = kvSizeEstimate(wide, INLINE_MAX);
  assert.ok(cut > INLINE_MAX && cut < INLINE_MAX + 64, `${cut}`);
  assert.ok(whole > 150_000 * 9, `${whole}`);
  // under its limit, the figure is the whole walk's
  const small = { a: [1, "two", { three: null }] };
  assert.equal(kvSizeEstimate(small, INLINE_MAX), kvSizeEstimate(small));
});
