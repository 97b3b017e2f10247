import assert from "node:assert/strict";
import { createChildReaper } from "./child_reaper.ts";

/** A detached `sh -c script`: the leader of a process group of its own. */
function group(script: string): Deno.ChildProcess {
  return new Deno.Command("/bin/sh", {
    args: ["-c", script],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
}

/** True while `pid` runs (not a zombie); `ps`, since /proc needs --allow-all. */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const state = new TextDecoder().decode(out.stdout).trim();
  return state !== "" && !state.startsWith("Z");
}

Deno.test("the reaper kills the listed groups, their background jobs too, when its input closes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sb-reaper-" });
  const listed = group(`sleep 60 & echo $! > ${dir}/job; wait`);
  const forgotten = group("sleep 60");
  try {
    const reaper = createChildReaper();
    reaper.add(listed.pid);
    reaper.add(forgotten.pid);
    reaper.remove(forgotten.pid);
    let job = 0;
    for (let i = 0; i < 100 && !job; i++) {
      job = Number(await Deno.readTextFile(`${dir}/job`).catch(() => "0"));
      if (!job) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(job > 0 && await alive(job), "the background job runs");
    await reaper.close(); // as the kernel does when the server dies
    assert.equal((await listed.status).signal, "SIGTERM");
    assert.equal(await alive(job), false, "the group's background job outlived the reaper");
    assert.equal(await alive(forgotten.pid), true, "a forgotten group is left alone");
  } finally {
    try {
      Deno.kill(-forgotten.pid, "SIGKILL");
    } catch {
      // gone
    }
    await forgotten.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a reaper that never had a child starts no shell; one with none left exits at once", async () => {
  await createChildReaper().close();
  const reaper = createChildReaper();
  const child = group("exit 0");
  reaper.add(child.pid);
  await child.status;
  reaper.remove(child.pid);
  const started = performance.now();
  await reaper.close();
  assert.ok(performance.now() - started < 1_000, "it waited for nothing");
});

Deno.test("a reaper with no shell to run fails quietly", async () => {
  const reaper = createChildReaper("/nonexistent/sh");
  reaper.add(1_000_000);
  reaper.remove(1_000_000);
  await reaper.close();
});
