/**
 * The server as `deno task start` runs it: the same permission flags (read from
 * deno.json, so they never drift), no `-A`, as a child process that tests can
 * SIGKILL, SIGSTOP and SIGCONT.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The `deno run` flags of `deno task <task>` (`start`, or `start:subprocess`). */
async function startArgs(task: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const [deno, ...args] = String(config.tasks[task]).split(/\s+/);
  if (deno !== "deno" || args[0] !== "run") throw new Error("unexpected start task");
  return args;
}

/** A started child: its pid, what it printed, and a way to end it. */
export interface TaskServer extends AsyncDisposable {
  pid: number;
  /** The base URL once it listens; rejects if it exits first. */
  listening: Promise<string>;
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
  stderr(): string;
  signal(sig: Deno.Signal): void;
}

/** Starts `main.ts` with the start task's permissions on `kvPath`, port 0. */
export async function startTask(
  kvPath: string,
  env: Record<string, string> = {},
  task = "start",
): Promise<TaskServer> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: await startArgs(task),
    cwd: ROOT,
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      SWITCHBOARD_KV: kvPath,
      LOG_LEVEL: "warn",
      NO_COLOR: "1",
      SWITCHBOARD_WARMUP: "0", // tests/operability/warmup_test.ts boots with it
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  const errDone = (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const listening = Promise.withResolvers<string>();
  const outDone = (async () => {
    let out = "";
    for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      const m = /switchboard listening on (http:\/\/\S+)/.exec(out);
      if (m) listening.resolve(m[1]);
    }
    listening.reject(new Error(`server exited before listening:\n${err}`));
  })();
  listening.promise.catch(() => {}); // a test may only look at the status
  const status = (async () => {
    const s = await proc.status;
    await Promise.all([outDone, errDone]);
    return s;
  })();
  return {
    pid: proc.pid,
    listening: listening.promise,
    status,
    stderr: () => err,
    signal(sig) {
      try {
        proc.kill(sig);
      } catch {
        // already gone
      }
    },
    async [Symbol.asyncDispose]() {
      try {
        proc.kill("SIGCONT");
        proc.kill("SIGKILL");
      } catch {
        // already gone
      }
      await status;
    },
  };
}

/** A fresh folder with a KV path in it, removed on dispose. */
export async function tempKvPath(): Promise<{ path: string; dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-hostile-" });
  return {
    dir,
    path: `${dir}/data/switchboard.kv`,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}
