/**
 * Findings 4, 5 and 13: one server per KV file by an OS lock, under the start
 * task's own permissions (no `-A`), with real SIGKILL and SIGSTOP; KV files are
 * 0600; a damaged KV file stops the start with one line instead of a panic loop.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTask, tempKvPath } from "./_task_start.ts";

const CANNOT_START = /^switchboard: cannot start: .+\n$/;

Deno.test("a restart right after a SIGKILL starts at once (finding 4)", async () => {
  await using kv = await tempKvPath();
  {
    await using first = await startTask(kv.path);
    const base = await first.listening;
    assert.equal((await fetch(`${base}/v1/operators`, { method: "POST" })).status, 415);
    first.signal("SIGKILL");
    await first.status;
  }
  const started = performance.now();
  await using second = await startTask(kv.path);
  const base = await second.listening;
  const ms = performance.now() - started;
  assert.equal(await (await fetch(`${base}/v1/healthz`)).text(), "ok");
  assert.ok(ms < 5_000, `the restart took ${ms.toFixed(0)} ms`);
});

Deno.test("a second server exits within 5 s while the holder is SIGSTOPped, and the holder goes on (finding 5)", async () => {
  await using kv = await tempKvPath();
  await using holder = await startTask(kv.path);
  const base = await holder.listening;
  holder.signal("SIGSTOP");
  const started = performance.now();
  await using second = await startTask(kv.path);
  const status = await second.status;
  const ms = performance.now() - started;
  holder.signal("SIGCONT");
  assert.equal(status.code, 1);
  assert.ok(ms < 5_000, `the second server took ${ms.toFixed(0)} ms to give up`);
  assert.match(second.stderr(), CANNOT_START);
  assert.match(
    second.stderr(),
    new RegExp(`in use by another Switchboard process \\(pid ${holder.pid}\\)`),
  );
  assert.equal(await (await fetch(`${base}/v1/healthz`)).text(), "ok");
});

Deno.test("the KV file, its WAL and its lock are created 0600 (finding 13)", async () => {
  await using kv = await tempKvPath();
  await using server = await startTask(kv.path);
  const base = await server.listening;
  const res = await fetch(`${base}/v1/operators`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  for (const file of [kv.path, `${kv.path}-wal`, `${kv.path}.lock`]) {
    const mode = (await Deno.stat(file)).mode! & 0o777;
    assert.equal(mode.toString(8), "600", file);
  }
  assert.equal(((await Deno.stat(`${kv.dir}/data`)).mode! & 0o777).toString(8), "700");
});

Deno.test("a damaged KV file stops the start with one line and exit 1, every time (finding 13)", async () => {
  await using kv = await tempKvPath();
  {
    await using server = await startTask(kv.path);
    const base = await server.listening;
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${base}/v1/operators`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ roles: [`role-${i}-${"x".repeat(200)}`] }),
      });
      await res.body?.cancel();
    }
    server.signal("SIGTERM");
    assert.equal((await server.status).code, 0);
  }
  // keep the SQLite header, damage the pages behind it
  const file = await Deno.open(kv.path, { write: true });
  await file.seek(8192, Deno.SeekMode.Start);
  await file.write(crypto.getRandomValues(new Uint8Array(65_536)));
  file.close();
  for (let attempt = 0; attempt < 2; attempt++) {
    await using server = await startTask(kv.path);
    const status = await server.status;
    assert.equal(status.code, 1, server.stderr());
    assert.match(server.stderr(), CANNOT_START);
    assert.match(server.stderr(), /the KV file .* is damaged/);
    assert.doesNotMatch(server.stderr(), /panicked/);
  }
  // and a file that is not a database at all
  await Deno.writeTextFile(kv.path, "not a database ".repeat(1_000));
  await using server = await startTask(kv.path);
  assert.equal((await server.status).code, 1);
  assert.match(server.stderr(), CANNOT_START);
});
