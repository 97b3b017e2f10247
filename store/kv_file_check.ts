/**
 * Checks a Deno KV file before Deno KV opens it. Deno KV is SQLite, and a file
 * damaged past its header makes Deno panic in a background thread soon after it
 * opens (on every start: a crash loop). SQLite's own `quick_check` finds the
 * damage first, so the server can refuse to start with one clear line.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";

/**
 * Throws an `Error` saying what is wrong when `path` exists and is not a healthy
 * SQLite database. A missing or empty file passes.
 */
export function checkKvFile(path: string): void {
  try {
    if (Deno.statSync(path).size === 0) return;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  let verdict: string;
  try {
    const db = new DatabaseSync(path);
    try {
      const rows = db.prepare("PRAGMA quick_check").all() as { quick_check?: string }[];
      verdict = rows.map((r) => String(r.quick_check)).join("; ");
    } finally {
      db.close();
    }
  } catch (err) {
    verdict = err instanceof Error ? err.message : String(err);
  }
  if (verdict !== "ok") {
    const first = verdict.split("\n").find((l) => l.trim() && !l.startsWith("***")) ?? verdict;
    throw new Error(
      `the KV file ${path} is damaged (${first.trim()}); restore it from a backup or move it away`,
    );
  }
}
