/**
 * Opens the stores named by `SWITCHBOARD_KV`: a Deno KV file (its folder is
 * created), or `:memory:` for a Deno KV that lives and dies with the process.
 *
 * A file is locked first (`kv_lock.ts`: one server per file), created 0600 (it
 * holds the HMAC secret and live tokens; SQLite gives its WAL the same mode), and
 * checked (`kv_file_check.ts`) before Deno KV opens it.
 *
 * @module
 */
import { dirname } from "node:path";
import { type KvLock, lockKvFile } from "./kv_lock.ts";
import { checkKvFile } from "./kv_file_check.ts";
import type { BlueprintStore } from "./blueprint_store.ts";
import type { DataStore } from "./data_store.ts";
import type { RunStore } from "./run_store.ts";
import type { SeatStore } from "./seat_store.ts";
import type { SecretStore } from "./secret_store.ts";
import { createKvBlueprintStore } from "./blueprint_store_kv.ts";
import { createKvDataStore } from "./data_store_kv.ts";
import { createKvRunStore } from "./run_store_kv.ts";
import { createKvSeatStore } from "./seat_store_kv.ts";
import { createKvSecretStore } from "./secret_store_kv.ts";

/** Stores on one open KV (the shape of deps.ts `Stores`), and the way to close it. */
export interface OpenStores {
  kind: "kv";
  path: string;
  seats: SeatStore;
  blueprints: BlueprintStore;
  runs: RunStore;
  data: DataStore;
  secrets: SecretStore;
  kv: Deno.Kv;
  close(): void;
}

/** Opens (creating if needed) the KV at `kvPath` and builds every store on it. */
export async function openStores(config: { kvPath: string }): Promise<OpenStores> {
  const path = config.kvPath;
  let lock: KvLock | undefined;
  let kv: Deno.Kv;
  try {
    if (path !== ":memory:") {
      await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
      lock = await lockKvFile(path);
      await ownerOnly(path);
      checkKvFile(path);
    }
    kv = await Deno.openKv(path);
  } catch (err) {
    lock?.release();
    throw err;
  }
  let closed = false;
  return {
    kind: "kv",
    path,
    kv,
    seats: createKvSeatStore(kv),
    blueprints: createKvBlueprintStore(kv),
    runs: createKvRunStore(kv),
    data: createKvDataStore(kv),
    secrets: createKvSecretStore(kv),
    close() {
      if (closed) return;
      closed = true;
      kv.close();
      lock?.release();
    },
  };
}

/** Creates the KV file 0600 when it is missing, and makes existing ones 0600. */
async function ownerOnly(path: string): Promise<void> {
  try {
    await Deno.writeFile(path, new Uint8Array(), { createNew: true, mode: 0o600 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      await Deno.chmod(file, 0o600);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}
