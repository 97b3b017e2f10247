import assert from "node:assert/strict";
import { kvFileUsage, pagesOf, walPages } from "./kv_file_usage.ts";

Deno.test("a KV file's usage follows its data while it is open, write-ahead log included; its size does not shrink", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/usage.kv`;
  try {
    const kv = await Deno.openKv(path);
    const big = "x".repeat(60_000);
    for (let i = 0; i < 300; i++) await kv.set(["k", i], big);
    const full = await kvFileUsage(path);
    assert.ok(full, "an SQLite file");
    assert.ok(full.usedBytes > 17_000_000, JSON.stringify(full)); // 18 MB written
    for (let i = 0; i < 300; i++) await kv.delete(["k", i]);
    // still open: the deletions are in the log, not yet copied into the file
    const emptied = await kvFileUsage(path);
    assert.ok(emptied);
    assert.ok(emptied.usedBytes < 1_000_000, JSON.stringify(emptied));
    assert.ok(emptied.fileBytes >= full.fileBytes * 0.9, "the file itself does not shrink");
    for (let i = 0; i < 10; i++) await kv.set(["small", i], big);
    const again = await kvFileUsage(path);
    assert.ok(again!.usedBytes > 500_000 && again!.usedBytes < 2_000_000, JSON.stringify(again));
    kv.close();
    const closed = await kvFileUsage(path);
    assert.ok(Math.abs(closed!.usedBytes - again!.usedBytes) < 100_000, JSON.stringify(closed));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usage of a missing file, or of one that is not SQLite, is undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await kvFileUsage(`${dir}/missing.kv`), undefined);
    await Deno.writeTextFile(`${dir}/text.kv`, "not a database ".repeat(20));
    assert.equal(await kvFileUsage(`${dir}/text.kv`), undefined);
    await Deno.writeTextFile(`${dir}/short.kv`, "SQLite format 3\0");
    assert.equal(await kvFileUsage(`${dir}/short.kv`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function header(pageSize: number, pages: number, free: number, valid = true): Uint8Array {
  const bytes = new Uint8Array(100);
  bytes.set(new TextEncoder().encode("SQLite format 3\0"));
  const view = new DataView(bytes.buffer);
  view.setUint16(16, pageSize === 65_536 ? 1 : pageSize);
  view.setUint32(28, pages);
  view.setUint32(36, free);
  view.setUint32(24, 7);
  view.setUint32(92, valid ? 7 : 6);
  return bytes;
}

Deno.test("a file header's page count is used only when SQLite marks it valid", () => {
  assert.deepEqual(pagesOf(header(4096, 10, 4), 10 * 4096), { pageSize: 4096, pages: 10, free: 4 });
  assert.deepEqual(pagesOf(header(4096, 10, 4, false), 20 * 4096), {
    pageSize: 4096,
    pages: 20,
    free: 4,
  });
  assert.equal(pagesOf(header(65_536, 10, 4), 0)!.pageSize, 65_536);
  assert.equal(pagesOf(header(1000, 10, 4), 0), undefined, "not a power of two");
});

/** A write-ahead log of 512-byte pages: `frames` are [page, committed size, free count?]. */
function wal(frames: Array<[number, number, number?]>, salts = [11, 22], frameSalts = salts) {
  const pageSize = 512;
  const bytes = new Uint8Array(32 + frames.length * (24 + pageSize));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x377f0682);
  view.setUint32(8, pageSize);
  view.setUint32(16, salts[0]);
  view.setUint32(20, salts[1]);
  frames.forEach(([page, size, free], i) => {
    const at = 32 + i * (24 + pageSize);
    view.setUint32(at, page);
    view.setUint32(at + 4, size);
    view.setUint32(at + 8, frameSalts[0]);
    view.setUint32(at + 12, frameSalts[1]);
    if (free !== undefined) view.setUint32(at + 24 + 36, free);
  });
  return bytes;
}

Deno.test("the log's last commit gives the page count, and its last page 1 the free count", () => {
  const base = { pageSize: 512, pages: 10, free: 0 };
  // a transaction growing to 30 pages, then one freeing 12 (page 1 rewritten)
  const log = wal([[5, 0], [30, 30], [1, 0, 12], [7, 30]]);
  assert.deepEqual(walPages(log, base), { pageSize: 512, pages: 30, free: 12 });
  // a transaction not committed yet does not count
  assert.deepEqual(walPages(wal([[5, 0], [30, 30], [1, 0, 12]]), base), {
    pageSize: 512,
    pages: 30,
    free: 0,
  });
  // frames of an older log (other salts) do not count
  assert.deepEqual(walPages(wal([[1, 40, 3]], [11, 22], [9, 9]), base), base);
  // a log of another page size is not this file's
  assert.deepEqual(walPages(log, { pageSize: 4096, pages: 10, free: 0 }), {
    pageSize: 4096,
    pages: 10,
    free: 0,
  });
});
