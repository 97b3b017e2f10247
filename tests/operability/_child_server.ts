/**
 * Runs `main.ts` as a child process (the way `deno task start` does) and
 * captures its stdout and stderr.
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

/** What the child printed, once it has exited. */
export interface ChildOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running child server. */
export interface ChildServer extends AsyncDisposable {
  base: string;
  wsBase: string;
  /** Sends SIGTERM and resolves with everything it printed. */
  stop(): Promise<ChildOutput>;
}

/** Starts main.ts on port 0 with `env` and waits for its listening line. */
export async function spawnServer(env: Record<string, string>): Promise<ChildServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      MAIN.pathname,
    ],
    cwd: ROOT.pathname,
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      SWITCHBOARD_KV: ":memory:",
      NO_COLOR: "1",
      SWITCHBOARD_WARMUP: "0", // warmup_test.ts boots with it
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let base: string | undefined;
  const deadline = AbortSignal.timeout(30_000);
  try {
    while (base === undefined) {
      deadline.throwIfAborted();
      const { value, done } = await lines.read();
      if (done) throw new Error(`server exited before listening: ${await stderr}`);
      stdout += value;
      base = /switchboard listening on (http:\/\/\S+)/.exec(stdout)?.[1];
    }
  } catch (err) {
    child.kill("SIGKILL");
    await child.status;
    throw err;
  }
  const rest = (async () => {
    while (true) {
      const { value, done } = await lines.read();
      if (done) return;
      stdout += value;
    }
  })();
  let stopped: Promise<ChildOutput> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      child.kill("SIGTERM");
      const { code } = await child.status;
      await rest;
      return { code, stdout, stderr: await stderr };
    })();
  return {
    base,
    wsBase: base.replace(/^http/, "ws"),
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}
