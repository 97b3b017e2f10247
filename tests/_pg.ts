/**
 * A throwaway PostgreSQL for the cluster tests: `initdb` into a temporary
 * folder (as the `postgres` user when the tests run as root, since PostgreSQL
 * refuses root), trust auth on 127.0.0.1 and a random port, `fsync=off`. One
 * server per test process, started on first use and stopped when the process
 * ends; each caller gets a fresh database on it.
 *
 * Without PostgreSQL binaries the cluster tests are skipped with one line on
 * stderr; with `CI=true` they run and fail instead.
 *
 * @module
 */
import { join } from "node:path";
import { openSql, type Sql } from "../store/pg_sql.ts";
import { migrate } from "../store/pg_schema.ts";

/** Folders searched for `initdb`, `pg_ctl` and `postgres`, newest version first. */
function binDirs(): string[] {
  const dirs: string[] = [];
  const fromEnv = Deno.env.get("SWITCHBOARD_PG_BIN");
  if (fromEnv) dirs.push(fromEnv);
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((e) => e.name)
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch { /* no Debian layout */ }
  for (const p of (Deno.env.get("PATH") ?? "").split(":")) if (p) dirs.push(p);
  return dirs;
}

function findBinDir(): string | undefined {
  for (const dir of binDirs()) {
    try {
      Deno.statSync(join(dir, "initdb"));
      Deno.statSync(join(dir, "pg_ctl"));
      return dir;
    } catch { /* next */ }
  }
  return undefined;
}

const BIN_DIR = findBinDir();
const IN_CI = Deno.env.get("CI") === "true";

/** True when the cluster tests must be skipped (no binaries, and not in CI). */
export const PG_IGNORE = BIN_DIR === undefined && !IN_CI;

if (PG_IGNORE) {
  console.error(
    "cluster tests skipped: PostgreSQL binaries (initdb, pg_ctl) not found; " +
      "install Debian's postgresql or set SWITCHBOARD_PG_BIN (with CI=true they fail instead)",
  );
}

interface Server {
  dir: string;
  port: number;
  bin: string;
  asPostgres: boolean;
}

let server: Promise<Server> | undefined;
let databases = 0;

/** True when this process runs as root (`id -u`: the test task has no --allow-sys). */
async function isRoot(): Promise<boolean> {
  const out = await new Deno.Command("id", { args: ["-u"] }).output();
  return new TextDecoder().decode(out.stdout).trim() === "0";
}

/** Runs a PostgreSQL program (as `postgres` when we are root); throws with its output on failure. */
async function pgRun(s: Pick<Server, "bin" | "asPostgres">, prog: string, args: string[]) {
  const exe = join(s.bin, prog);
  const cmd = s.asPostgres
    ? new Deno.Command("runuser", { args: ["-u", "postgres", "--", exe, ...args] })
    : new Deno.Command(exe, { args });
  const out = await cmd.output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${prog} ${args.join(" ")} failed (${out.code}): ${text.trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function idOf(name: string, flag: "-u" | "-g"): Promise<number> {
  const out = await new Deno.Command("id", { args: [flag, name] }).output();
  if (!out.success) {
    throw new Error(`no ${name} user to run PostgreSQL as (PostgreSQL refuses root)`);
  }
  return Number(new TextDecoder().decode(out.stdout).trim());
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function start(): Promise<Server> {
  if (BIN_DIR === undefined) {
    throw new Error(
      "PostgreSQL binaries (initdb, pg_ctl) not found and CI=true: cluster tests cannot run",
    );
  }
  const asPostgres = await isRoot();
  const dir = await Deno.makeTempDir({ prefix: "switchboard-pg-" });
  if (asPostgres) {
    await Deno.chown(dir, await idOf("postgres", "-u"), await idOf("postgres", "-g"));
  }
  const data = join(dir, "data");
  const s: Server = { dir, port: 0, bin: BIN_DIR, asPostgres };
  await pgRun(s, "initdb", [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--no-sync",
    "--no-instructions",
  ]);
  // a port taken between freePort() and the bind makes pg_ctl fail: try a few
  for (let attempt = 0; attempt < 5; attempt++) {
    s.port = freePort();
    const opts = [
      `-p ${s.port}`,
      "-h 127.0.0.1",
      `-k ${dir}`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=300",
      "-c shared_buffers=32MB",
    ].join(" ");
    try {
      await pgRun(s, "pg_ctl", [
        "-D",
        data,
        "-l",
        join(dir, "log"),
        "-w",
        "-t",
        "30",
        "-o",
        opts,
        "start",
      ]);
      break;
    } catch (err) {
      if (attempt === 4) throw err;
    }
  }
  globalThis.addEventListener("unload", () => stopSync(s));
  return s;
}

function stopSync(s: Server) {
  const exe = join(s.bin, "pg_ctl");
  const args = ["-D", join(s.dir, "data"), "-m", "immediate", "-w", "stop"];
  try {
    (s.asPostgres
      ? new Deno.Command("runuser", { args: ["-u", "postgres", "--", exe, ...args] })
      : new Deno.Command(exe, { args })).outputSync();
  } catch { /* already gone */ }
  try {
    Deno.removeSync(s.dir, { recursive: true });
  } catch { /* best effort */ }
}

/** The URL of the server's `postgres` database (for admin statements). */
async function adminUrl(): Promise<string> {
  server ??= start();
  const s = await server;
  return `postgres://postgres@127.0.0.1:${s.port}/postgres`;
}

/**
 * Creates a fresh, empty database on the test server (started on first use)
 * and returns its URL.
 */
export async function freshDatabase(): Promise<string> {
  const url = await adminUrl();
  const s = await server!;
  const name = `t${Deno.pid}_${++databases}_${crypto.randomUUID().slice(0, 8)}`;
  await pgRun(s, "psql", [
    "-h",
    "127.0.0.1",
    "-p",
    String(s.port),
    "-U",
    "postgres",
    "-d",
    "postgres",
    "-qAtc",
    `CREATE DATABASE ${name}`,
  ]);
  return url.replace(/\/postgres$/, `/${name}`);
}

/** A fresh database with the server's schema, open as `sql` for `fn`, closed after. */
export async function withMigratedSql(fn: (sql: Sql) => Promise<void>): Promise<void> {
  const sql = openSql(await freshDatabase());
  try {
    await migrate(sql);
    await fn(sql);
  } finally {
    await sql.end();
  }
}
