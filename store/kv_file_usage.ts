/**
 * How much of a Deno KV file is in use, read from SQLite's own bookkeeping: the
 * pages the database has minus the pages on its free list. Deleted data leaves
 * free pages that later writes reuse, so the file's size alone never goes down.
 * The newest figures may still be in the write-ahead log (`<file>-wal`) until
 * SQLite copies them into the file, so its committed frames are read too.
 *
 * @module
 */

/** The bytes of a KV file: in use, and on disk (the file and its write-ahead log). */
export interface KvFileUsage {
  usedBytes: number;
  fileBytes: number;
}

const HEADER_BYTES = 100;
const MAGIC = "SQLite format 3\0";
const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;
/**
 * The most of the log read: SQLite copies it into the file every ~4 MB and then
 * writes it again from its start, so its live part is at its start; past this
 * (checkpoints held back a long time) the figures lag.
 */
const WAL_READ_MAX = 16 * 1024 * 1024;

/** Page counts of a database: its pages and its free pages. */
interface Pages {
  pageSize: number;
  pages: number;
  free: number;
}

/** The usage of the KV file at `path`; undefined when it is missing or not an SQLite file. */
export async function kvFileUsage(path: string): Promise<KvFileUsage | undefined> {
  const read = await readHead(path, HEADER_BYTES);
  if (!read) return undefined;
  const counts = pagesOf(read.bytes, read.size);
  if (!counts) return undefined;
  const wal = await readHead(`${path}-wal`, WAL_READ_MAX);
  const latest = wal ? walPages(wal.bytes, counts) : counts;
  return {
    usedBytes: (latest.pages - latest.free) * latest.pageSize,
    fileBytes: read.size + (wal?.size ?? 0),
  };
}

/** The first `max` bytes of a file and its size; undefined when it cannot be read. */
async function readHead(path: string, max: number) {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const size = (await file.stat()).size;
    const bytes = new Uint8Array(Math.min(size, max));
    for (let at = 0; at < bytes.length;) {
      const n = await file.read(bytes.subarray(at));
      if (n === null) return { bytes: bytes.subarray(0, at), size };
      at += n;
    }
    return { bytes, size };
  } finally {
    file.close();
  }
}

/**
 * The page counts an SQLite file header describes, for a file of `fileBytes`;
 * undefined when the bytes are not one. The header's page count is used only
 * when SQLite marks it valid (offset 24 equals offset 92); else the size gives it.
 */
export function pagesOf(header: Uint8Array, fileBytes: number): Pages | undefined {
  if (header.length < HEADER_BYTES) return undefined;
  if (new TextDecoder().decode(header.subarray(0, 16)) !== MAGIC) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const raw = view.getUint16(16);
  const pageSize = raw === 1 ? 65_536 : raw;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return undefined;
  const counted = view.getUint32(28);
  const pages = counted > 0 && view.getUint32(24) === view.getUint32(92)
    ? counted
    : Math.floor(fileBytes / pageSize);
  return { pageSize, pages, free: Math.min(view.getUint32(36), pages) };
}

/**
 * The page counts after the last transaction committed to a write-ahead log
 * (`base`: the file's own, when the log has none). Frames count while their
 * salts are the log header's (older frames past a log restart do not); a
 * commit frame carries the database's size, a frame of page 1 its free count.
 */
export function walPages(wal: Uint8Array, base: Pages): Pages {
  if (wal.length < WAL_HEADER_BYTES) return base;
  const view = new DataView(wal.buffer, wal.byteOffset, wal.length);
  const magic = view.getUint32(0);
  if ((magic !== 0x377f0682 && magic !== 0x377f0683) || view.getUint32(8) !== base.pageSize) {
    return base;
  }
  const salt1 = view.getUint32(16);
  const salt2 = view.getUint32(20);
  const frameBytes = FRAME_HEADER_BYTES + base.pageSize;
  let { pages, free } = base;
  let txFree: number | undefined;
  for (let at = WAL_HEADER_BYTES; at + frameBytes <= wal.length; at += frameBytes) {
    if (view.getUint32(at + 8) !== salt1 || view.getUint32(at + 12) !== salt2) break;
    if (view.getUint32(at) === 1) txFree = view.getUint32(at + FRAME_HEADER_BYTES + 36);
    const committedSize = view.getUint32(at + 4);
    if (committedSize === 0) continue;
    pages = committedSize;
    if (txFree !== undefined) free = txFree;
    txFree = undefined;
  }
  return { pageSize: base.pageSize, pages, free: Math.min(free, pages) };
}
