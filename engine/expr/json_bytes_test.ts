import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import { cachedStringChars, jsonBytes } from "./json_bytes.ts";
import { writeShared } from "./write_path.ts";

const utf8 = (v: Json) => new TextEncoder().encode(JSON.stringify(v)).length;

Deno.test("jsonBytes() counts the bytes of the compact UTF-8 JSON text", () => {
  const samples: Json[] = [
    null,
    true,
    false,
    0,
    -1.5e-7,
    "",
    'quote " and \\ and \n\t\r\b\f and \u0001',
    "é, 中, 😀 and a lone \ud800 surrogate",
    [],
    {},
    [1, "two", { three: [3, null] }],
    JSON.parse('{"__proto__":{"x":1},"k\\u00e9y":[true,{"":""}]}'),
  ];
  for (const v of samples) assert.equal(jsonBytes(v), utf8(v), JSON.stringify(v));
});

Deno.test("jsonBytes() measures a doubled value without expanding it", () => {
  let v: Json = { s: "x".repeat(100) };
  for (let i = 0; i < 60; i++) v = [v, v]; // 2^60 copies when written out
  const started = performance.now();
  const n = jsonBytes(v);
  assert.ok(performance.now() - started < 50);
  assert.ok(n > 2 ** 60);
});

Deno.test("writeShared() copies only the written path and mutates nothing", () => {
  const deep = { k: [1, 2] };
  const ctx = { a: { b: 1, c: deep }, d: deep };
  const next = writeShared(ctx, "$.a.b", 2) as { a: { b: number; c: unknown }; d: unknown };
  assert.deepEqual(ctx, { a: { b: 1, c: deep }, d: deep });
  assert.deepEqual(Object.keys(next), ["a", "d"]);
  assert.equal(next.a.b, 2);
  assert.equal(next.a.c, deep);
  assert.equal(next.d, deep);
  assert.deepEqual(writeShared(5, "$.x.y", true), { x: { y: true } });
  assert.equal(writeShared(ctx, "$", 7), 7);
  const proto = writeShared({}, "$.__proto__.p", 1);
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(Object.hasOwn(proto as object, "__proto__"), true);
});

Deno.test("writeShared() remembers each copy's size from its original's, as a fresh walk finds it", () => {
  const wide: Record<string, Json> = { "é": "ü", q: 'a"b' };
  for (let i = 0; i < 2_000; i++) wide[`k${i}`] = i % 7 === 0 ? { n: [i] } : i;
  let ctx: Json = { big: wide, s: "x" };
  jsonBytes(ctx); // sizes known, as the flow measures the ctx after each write
  const writes: [string, Json][] = [
    ["$.big.k7", "replaced"], // an object replaced by a string
    ["$.big.new", { deep: [1, 2] }], // a key added
    ["$.big.é", null],
    ["$.fresh.a.b", 1], // objects made on the way
    ["$.s", { x: "y" }],
    ["$.big.k3", { n: [] }],
  ];
  for (const [at, value] of writes) {
    ctx = writeShared(ctx, at, value);
    assert.equal(jsonBytes(ctx), utf8(ctx), at);
  }
});

Deno.test("writeShared() shows its watch the width of each object before copying it", () => {
  const seen: number[] = [];
  const copied = {
    keys: 0,
    wide(keys: number) {
      seen.push(keys);
      if (keys > 3) throw new RangeError(`${keys} keys`);
    },
  };
  assert.deepEqual(writeShared({ a: { b: 1 }, c: 2 }, "$.a.d", 3, copied), {
    a: { b: 1, d: 3 },
    c: 2,
  });
  assert.deepEqual(seen, [2, 1]);
  assert.equal(copied.keys, 3);
  const ctx = { w: { a: 1, b: 2, c: 3, d: 4 } };
  assert.throws(() => writeShared(ctx, "$.w.e", 5, copied), /4 keys/);
  assert.deepEqual(ctx, { w: { a: 1, b: 2, c: 3, d: 4 } });
});

Deno.test("jsonBytes() remembers long strings only up to 32 Mi characters in all", () => {
  // each run's distinct 2 MB string stayed pinned by the size cache (4,096 of them: 8 GB)
  for (let i = 0; i < 20; i++) {
    const s = `${i}`.padEnd(2_000_000, "x");
    assert.equal(jsonBytes({ s }), 2_000_000 + 8);
    assert.ok(cachedStringChars() <= 32 * 1024 * 1024, `${cachedStringChars()} characters`);
  }
  const huge = "y".repeat(33 * 1024 * 1024); // larger than the bound: measured, not kept
  const before = cachedStringChars();
  assert.equal(jsonBytes(huge), huge.length + 2);
  assert.equal(cachedStringChars(), before);
});

Deno.test("jsonBytes() tells apart long strings of one length that differ where it does not sample", () => {
  // same length, same sampled characters, one differs in between: "é" is 2 bytes
  const base = "a".repeat(100_003);
  const other = base.slice(0, 50_001) + "é" + base.slice(50_002);
  assert.equal(other.length, base.length);
  assert.equal(jsonBytes(base), 100_005);
  assert.equal(jsonBytes(other), 100_006);
  assert.equal(jsonBytes(base), 100_005);
  assert.equal(jsonBytes(other), 100_006);
});
