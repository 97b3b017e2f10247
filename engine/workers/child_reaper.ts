/**
 * The reaper of subprocess agents' process groups: a small `sh` started once,
 * in a process group of its own, that learns each child's group on its stdin
 * and kills the groups still listed when that stdin closes. The kernel closes
 * it when the server exits for any reason, SIGKILL and crashes included, so
 * no child outlives its server by more than {@link REAP_GRACE_SECS}.
 *
 * A child spawned in the instant before a SIGKILL, before its line reached the
 * pipe, is the one it can miss.
 *
 * @module
 */

/** Seconds between the SIGTERM and the SIGKILL the reaper sends each group. */
export const REAP_GRACE_SECS = 2;

/**
 * `+pgid` lists a group, `-pgid` forgets it; at end of input, every listed
 * group gets SIGTERM, then SIGKILL. Builtins only, but `sleep`.
 */
const SCRIPT = `
groups=""
while IFS= read -r line; do
  case "$line" in
    +*) groups="$groups \${line#+}" ;;
    -*) kept=""
        for g in $groups; do [ "$g" = "\${line#-}" ] || kept="$kept $g"; done
        groups=$kept ;;
  esac
done
[ -n "$groups" ] || exit 0
for g in $groups; do kill -TERM -"$g" 2>/dev/null; done
sleep ${REAP_GRACE_SECS}
for g in $groups; do kill -KILL -"$g" 2>/dev/null; done
`;

/** Keeps the list of a server's child process groups in its reaper. */
export interface ChildReaper {
  /** Lists the group led by `pgid` (a child spawned `detached`). */
  add(pgid: number): void;
  /** Forgets the group: its child and what it left are gone. */
  remove(pgid: number): void;
  /** Closes the reaper's input (it kills what is still listed) and waits for it. */
  close(): Promise<void>;
}

/** A reaper, started with its first child; `shell` is the `sh` to run. */
export function createChildReaper(shell = "/bin/sh"): ChildReaper {
  let proc: Deno.ChildProcess | undefined;
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let failed = false;
  const encoder = new TextEncoder();

  function send(line: string): void {
    if (failed) return;
    if (!writer) {
      try {
        proc = new Deno.Command(shell, {
          args: ["-c", SCRIPT],
          stdin: "piped",
          stdout: "null",
          stderr: "null",
          detached: true, // a Ctrl-C or SIGTERM to the server's group leaves it to do its job
        }).spawn();
      } catch {
        failed = true; // no shell: children are still ended on a normal exit (subprocess.ts)
        return;
      }
      proc.unref(); // never keeps the server alive
      writer = proc.stdin.getWriter();
    }
    writer.write(encoder.encode(`${line}\n`)).catch(() => {});
  }

  return {
    add: (pgid) => send(`+${pgid}`),
    remove: (pgid) => send(`-${pgid}`),
    async close() {
      if (!proc || !writer) return;
      proc.ref(); // waited for now
      await writer.close().catch(() => {});
      await proc.status;
    },
  };
}
