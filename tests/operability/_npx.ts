/**
 * Runs third-party npm CLIs (Redocly, openapi-typescript) the way a user would,
 * through `npx --yes <pkg>@<version>`: fetched from the npm registry on first
 * use, from npm's cache after. Outside CI a missing `npx` skips the tests that
 * need it; in CI (`CI=true`) they fail.
 *
 * @module
 */

/** True when `npx` is on PATH. */
export function hasNpx(): boolean {
  try {
    return new Deno.Command("npx", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether the npx tests are skipped, with a message when they are. */
export function npxSkip(what: string): boolean {
  const skip = !hasNpx() && Deno.env.get("CI") !== "true";
  if (skip) console.warn(`${what} SKIPPED: no \`npx\` on PATH (install Node.js)`);
  return skip;
}

/** What a command printed. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` in `cwd` and collects its output (at most `timeoutMs`). */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CommandOutput> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", NO_UPDATE_NOTIFIER: "1", npm_config_update_notifier: "false" },
    signal: AbortSignal.timeout(options.timeoutMs ?? 180_000),
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}
