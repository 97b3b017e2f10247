/**
 * Subprocess workers (kind `subprocess`, reference/engine.md §5.3): the "CLI
 * agent" path, one child process an attempt. They are off unless
 * `SWITCHBOARD_ALLOW_SUBPROCESS=1` (SPEC §9: they let any task caller run
 * programs), and need the run permission (`deno task start:subprocess`).
 *
 * - **Launch:** `program` with `args`, in an empty environment but for `PATH`,
 *   `HOME` and the attempt's `MSE_*` variables: `MSE_TASK_ID`, `MSE_ATTEMPT`,
 *   `MSE_CTX_AGENT`, `MSE_TOKEN_AGENT_ID`, `MSE_TOKEN_NONCE`, and, beyond 0.1.2,
 *   `MSE_WORKER_HANDLE`, `MSE_CAPABILITY_TOKEN` and `MSE_BASE_URL`, so the child
 *   can call `/v1/worker/*` and `/v1/data/*`. The server's own environment
 *   (its secret, API token, database URL) never reaches it.
 * - **Prompt:** on stdin, then closed (`use_stdin`, the default), or as the last
 *   argument.
 * - **Plain mode** (no `stream_mode`): stdout's trimmed text as JSON when it
 *   parses, else `{raw, stderr}`; `ok` is the exit status.
 * - **Streaming modes** (`ndjson_lines`, `sse_events`, `length_prefixed`): each
 *   frame that parses as an output event is appended as it arrives, others are
 *   skipped; with no `final` at the end, a failing one is appended (0.1.2's
 *   note). Beyond 0.1.2: a non-zero exit fails the attempt, stderr is drained,
 *   and the run's end, the agent's `spec.timeout_secs` or a bound kills the
 *   child's process group (SIGTERM, then SIGKILL after {@link KILL_GRACE_MS}),
 *   as the server's exit does; a server killed outright leaves that to its
 *   {@link ChildReaper}.
 * - **Bounds:** stdout and one frame at most {@link SUBPROCESS_LIMITS}; stderr is
 *   read to the end and its first 64 KiB kept.
 *
 * @module
 */
import type { AgentDefNorm } from "../../protocol/blueprint.ts";
import type { Json } from "../../protocol/json.ts";
import { OutputEvent } from "../../protocol/worker.ts";
import type { ChildReaper } from "./child_reaper.ts";
import {
  type AttemptContext,
  inlineFinal,
  messageOf,
  spawned,
  type Spawner,
  SpawnError,
  WorkerError,
} from "../spawner.ts";

/** How a child's stdout is read. */
export type StreamMode = "plain" | "ndjson_lines" | "sse_events" | "length_prefixed";

/** A subprocess agent's `spec`, checked. */
export interface SubprocessSpec {
  program: string;
  args: string[];
  useStdin: boolean;
  mode: StreamMode;
  /** `spec.timeout_secs`, if set. */
  timeoutSecs?: number;
}

/** The bounds of one child's output. */
export const SUBPROCESS_LIMITS = {
  /** Bytes of stdout (plain mode: the value; streaming modes: all frames). */
  stdoutBytes: 16 * 1024 * 1024,
  /** Bytes of one frame (a line, an event, a length-prefixed record). */
  frameBytes: 2 * 1024 * 1024,
  /** Bytes of stderr kept (the rest is read and dropped). */
  stderrBytes: 64 * 1024,
  /** Events appended from one child. */
  events: 10_000,
} as const;

/** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
export const KILL_GRACE_MS = 2_000;

/**
 * How long what a child left running in its process group (a background job
 * holding its stdout open) may outlive it before it is killed.
 */
export const LINGER_MS = 500;

/** The checked spec of `agent`, or the reason it is invalid. */
export function subprocessSpec(agent: AgentDefNorm): SubprocessSpec | string {
  const spec = agent.spec;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    return "shell spec: 'program' (string) required";
  }
  const { program, args, use_stdin, stream_mode, timeout_secs } = spec;
  if (typeof program !== "string" || program === "") {
    return "shell spec: 'program' (string) required";
  }
  if (args !== undefined && args !== null) {
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
      return "shell spec: 'args' must be a list of strings";
    }
  }
  const mode = stream_mode ?? "plain";
  if (!["plain", "ndjson_lines", "sse_events", "length_prefixed"].includes(String(mode))) {
    return `unknown stream_mode: ${String(stream_mode)}`;
  }
  const out: SubprocessSpec = {
    program,
    args: (args ?? []) as string[],
    useStdin: use_stdin !== false,
    mode: mode as StreamMode,
  };
  if (typeof timeout_secs === "number" && timeout_secs > 0 && Number.isFinite(timeout_secs)) {
    out.timeoutSecs = timeout_secs;
  }
  return out;
}

/** The process groups of the children running now (their leaders' pids). */
const running = new Set<number>();
let exitHooked = false;

/**
 * Sends SIGTERM to every child's group when the server exits (a stop drains,
 * then exits): a step cut short re-runs as a new attempt after a restart, so no
 * child is left to run on unattended. A SIGKILL of the server runs no hook: the
 * reaper (`child_reaper.ts`) ends them then.
 */
function killAllOnExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  globalThis.addEventListener("unload", () => {
    for (const pid of running) {
      try {
        Deno.kill(-pid, "SIGTERM");
      } catch {
        // gone
      }
    }
  });
}

/**
 * A spawner that runs `spec` as a child process for each attempt; `baseUrl` is
 * the server's, and `reaper` ends the children if the server dies without exiting.
 */
export function subprocessWorker(
  spec: SubprocessSpec,
  baseUrl: string,
  reaper?: ChildReaper,
): Spawner {
  return function runSubprocess(a) {
    let child: Deno.ChildProcess;
    const prompt = a.attempt.prompt;
    try {
      child = new Deno.Command(spec.program, {
        args: spec.useStdin ? spec.args : [...spec.args, prompt],
        clearEnv: true,
        env: childEnv(a, baseUrl),
        stdin: spec.useStdin ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
        detached: true, // a process group of its own: a kill reaches what it started too
      }).spawn();
    } catch (err) {
      return Promise.reject(new SpawnError(`subprocess spawn failed: ${messageOf(err)}`));
    }
    killAllOnExit();
    const pgid = child.pid;
    running.add(pgid);
    reaper?.add(pgid);
    const done = supervise(child, spec, a, prompt);
    done.finally(() => {
      running.delete(pgid);
      reaper?.remove(pgid);
    }).catch(() => {});
    return Promise.resolve(spawned(done));
  };
}

/** The child's whole environment. */
function childEnv(a: AttemptContext, baseUrl: string): Record<string, string> {
  const env: Record<string, string> = {
    MSE_TASK_ID: a.ctx.taskId,
    MSE_ATTEMPT: String(a.ctx.attempt),
    MSE_CTX_AGENT: a.ctx.agent,
    MSE_BASE_URL: baseUrl,
  };
  for (const name of ["PATH", "HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  if (a.token) {
    env.MSE_TOKEN_AGENT_ID = a.token.agent_id;
    env.MSE_TOKEN_NONCE = a.token.nonce;
  }
  if (a.grant) {
    env.MSE_WORKER_HANDLE = a.grant.workerHandle;
    env.MSE_CAPABILITY_TOKEN = a.grant.capabilityToken;
  }
  return env;
}

/** Feeds, reads and waits for the child; kills it when the attempt is abandoned. */
async function supervise(
  child: Deno.ChildProcess,
  spec: SubprocessSpec,
  a: AttemptContext,
  prompt: string,
): Promise<void> {
  const timeout = spec.timeoutSecs === undefined
    ? undefined
    : AbortSignal.timeout(Math.min(spec.timeoutSecs * 1000, 2 ** 31 - 1));
  const signal = timeout ? AbortSignal.any([a.signal, timeout]) : a.signal;
  let over: string | undefined; // why the child was killed by a bound
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  let lingerTimer: ReturnType<typeof setTimeout> | undefined;
  const signalGroup = (sig: Deno.Signal) => {
    try {
      Deno.kill(-child.pid, sig); // the child's process group (it was spawned detached)
    } catch {
      // the group is gone
    }
  };
  const kill = () => {
    if (graceTimer !== undefined) return; // once
    signalGroup("SIGTERM");
    graceTimer = setTimeout(() => signalGroup("SIGKILL"), KILL_GRACE_MS);
  };
  // once the child exits, what it left running in its group goes too, after a moment
  child.status.then(() => {
    lingerTimer = setTimeout(() => signalGroup("SIGKILL"), LINGER_MS);
  }, () => {});
  const onAbort = () => kill();
  signal.addEventListener("abort", onAbort, { once: true });
  const stopFor = (why: string) => {
    over ??= why;
    kill();
  };
  const timedOut = () => new WorkerError(`subprocess timed out after ${spec.timeoutSecs} s`);
  const stderr = drain(child.stderr, SUBPROCESS_LIMITS.stderrBytes);
  const fed = spec.useStdin ? feed(child, prompt) : Promise.resolve();
  try {
    let value: Json | undefined;
    let events = 0;
    let finals = 0;
    if (spec.mode === "plain") {
      const { stdoutBytes } = SUBPROCESS_LIMITS;
      const text = await drain(
        child.stdout,
        stdoutBytes,
        () => stopFor(`stdout over ${stdoutBytes} bytes`),
      );
      const trimmed = text.trim();
      try {
        value = JSON.parse(trimmed) as Json;
      } catch {
        value = { raw: text.trimEnd(), stderr: await stderr };
      }
    } else {
      const append = (frame: string) => {
        let event: OutputEvent;
        try {
          const parsed = OutputEvent.safeParse(JSON.parse(frame));
          if (!parsed.success) return; // not an event: skipped
          event = parsed.data;
        } catch {
          return;
        }
        if (++events > SUBPROCESS_LIMITS.events) {
          return stopFor(`more than ${SUBPROCESS_LIMITS.events} events`);
        }
        if (event.type === "final") finals++;
        a.append(event);
      };
      await readFrames(child.stdout, spec.mode, append, stopFor);
    }
    await fed;
    const status = await child.status;
    if (a.signal.aborted) throw a.signal.reason;
    if (signal.aborted) throw timedOut();
    if (over !== undefined) throw new WorkerError(`subprocess stopped: ${over}`);
    if (spec.mode === "plain") {
      a.append(inlineFinal(value ?? null, status.success));
      return;
    }
    if (!status.success) {
      const text = (await stderr).trim();
      throw new WorkerError(
        `subprocess exited with code ${status.code}${text ? `: ${text.slice(0, 500)}` : ""}`,
      );
    }
    if (finals === 0) {
      a.append(inlineFinal({
        raw: "",
        note: "streaming mode: no Final event received",
        exit_success: status.success,
      }, false));
    }
  } catch (err) {
    if (!signal.aborted && over === undefined) kill();
    await child.status.catch(() => {});
    if (a.signal.aborted) throw a.signal.reason;
    if (err instanceof WorkerError) throw err;
    if (signal.aborted) throw timedOut();
    throw new WorkerError(`subprocess failed: ${messageOf(err)}`, { cause: err });
  } finally {
    signal.removeEventListener("abort", onAbort);
    await stderr.catch(() => "");
    clearTimeout(graceTimer);
    clearTimeout(lingerTimer);
  }
}

/** Writes the prompt to the child's stdin and closes it (a child that exits early is fine). */
async function feed(child: Deno.ChildProcess, prompt: string): Promise<void> {
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(prompt));
    await writer.close();
  } catch {
    // the child closed its stdin: it did not want (all of) the prompt
  }
}

/**
 * Reads a stream to its end, keeping its first `keep` bytes as text; `over` is
 * called once when there is more (stdout in plain mode: the child is stopped,
 * and read on to the end).
 */
async function drain(
  stream: ReadableStream<Uint8Array>,
  keep: number,
  over?: () => void,
): Promise<string> {
  const kept: Uint8Array[] = [];
  let size = 0;
  let overflowed = false;
  for await (const chunk of stream) {
    if (!overflowed && size + chunk.length > keep) {
      overflowed = true;
      over?.();
    }
    if (size >= keep) continue;
    const part = chunk.subarray(0, keep - size);
    kept.push(part);
    size += part.length;
  }
  return new TextDecoder().decode(concat(kept, size));
}

/** Splits stdout into frames by `mode`, calling `frame` for each. */
async function readFrames(
  stream: ReadableStream<Uint8Array>,
  mode: Exclude<StreamMode, "plain">,
  frame: (text: string) => void,
  stopFor: (why: string) => void,
): Promise<void> {
  const { frameBytes, stdoutBytes } = SUBPROCESS_LIMITS;
  const decoder = new TextDecoder();
  let buffer: Uint8Array = new Uint8Array(0);
  let total = 0;
  let stopped = false;
  let dataLines: string[] = [];
  const line = (text: string) => {
    if (mode === "ndjson_lines") {
      if (text.trim() !== "") frame(text);
      return;
    }
    // sse_events: the data lines of an event, joined, end at a blank line
    if (text === "" || text === "\r") {
      if (dataLines.length > 0) frame(dataLines.join("\n"));
      dataLines = [];
    } else if (text.startsWith("data:")) {
      dataLines.push(text.slice(text.startsWith("data: ") ? 6 : 5).replace(/\r$/, ""));
    }
  };
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > stdoutBytes && !stopped) {
      stopped = true;
      stopFor(`stdout over ${stdoutBytes} bytes`);
    }
    if (stopped) continue; // read on to the end, dropping it (the child is stopping)
    buffer = buffer.length === 0 ? chunk : concat([buffer, chunk], buffer.length + chunk.length);
    if (mode === "length_prefixed") {
      while (buffer.length >= 4) {
        const size = new DataView(buffer.buffer, buffer.byteOffset, 4).getUint32(0);
        if (size === 0 || size > frameBytes) {
          // 0.1.2 stops reading at a length of 0 (so here) or over 16 MiB (here: the bound)
          stopped = true;
          if (size > 0) stopFor(`a frame over ${frameBytes} bytes`);
          break;
        }
        if (buffer.length < 4 + size) break;
        frame(decoder.decode(buffer.subarray(4, 4 + size)));
        buffer = buffer.subarray(4 + size);
      }
      continue;
    }
    let start = 0;
    for (let i = buffer.indexOf(10); i >= 0; i = buffer.indexOf(10, start)) {
      line(decoder.decode(buffer.subarray(start, i)).replace(/\r$/, ""));
      start = i + 1;
    }
    buffer = buffer.subarray(start);
    if (buffer.length > frameBytes) {
      stopped = true;
      stopFor(`a line over ${frameBytes} bytes`);
    }
  }
  if (!stopped && mode !== "length_prefixed" && buffer.length > 0) line(decoder.decode(buffer));
  if (!stopped && mode === "sse_events") line("");
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    const n = Math.min(part.length, size - at);
    out.set(part.subarray(0, n), at);
    at += n;
  }
  return out;
}
