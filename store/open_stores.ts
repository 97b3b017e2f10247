/**
 * Opens the stores named by `SWITCHBOARD_KV`: a Deno KV file (its folder is
 * created), or `:memory:` for a Deno KV that lives and dies with the process.
 *
 * @module
 */
import { dirname } from "node:path";
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
  if (path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
  const kv = await Deno.openKv(path);
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
    },
  };
}
