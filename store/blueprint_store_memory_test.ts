import { runBlueprintStoreCases } from "./_blueprint_store_cases.ts";
import { createMemoryBlueprintStore } from "./blueprint_store_memory.ts";

Deno.test("memory Blueprint store passes the shared store cases", async (t) => {
  await runBlueprintStoreCases(t, {
    open: (options) => Promise.resolve(createMemoryBlueprintStore(options)),
    close: () => {},
  });
});
