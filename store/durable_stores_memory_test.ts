import { runDurableStoreCases } from "./_durable_store_cases.ts";
import { createMemoryDataStore } from "./data_store.ts";
import { createMemoryRunStore } from "./run_store.ts";
import { createMemorySeatStore } from "./seat_store.ts";
import { createMemorySecretStore } from "./secret_store.ts";

Deno.test("memory seat, run, data and secret stores pass the shared store cases", async (t) => {
  await runDurableStoreCases(t, {
    open: () =>
      Promise.resolve({
        seats: createMemorySeatStore(),
        runs: createMemoryRunStore(),
        data: createMemoryDataStore(),
        secrets: createMemorySecretStore(),
      }),
    close() {},
  });
});
