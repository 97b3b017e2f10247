/**
 * JSON-lines logger on stderr with a level filter. Keys that could carry a secret
 * are redacted before writing, as a second line of defence: callers never pass
 * tokens in the first place.
 *
 * @module
 */
import { isoTime } from "./iso_time.ts";

/** Log levels, in order of severity. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fields of one log line. */
export type LogFields = Record<string, unknown>;

/** A logger: one method per level. */
export type Logger = Record<LogLevel, (msg: string, fields?: LogFields) => void>;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
  now?: () => number;
}

const SECRET_KEY = /token|secret|authorization|password/i;
const encoder = new TextEncoder();

/**
 * How long lines wait to be written together. A round trip logs several lines
 * over a few event-loop turns; one write for all of them instead of one each.
 */
export const FLUSH_MS = 5;
/** A batch this large is written at once. */
const FLUSH_CHARS = 32 * 1024;

/** Lines not yet written to stderr. */
let pending = "";
const scratch = new Uint8Array(FLUSH_CHARS * 3);

/** What `setTimeout` returns here: a number, or a Node-style `Timeout` (Deno 2.9). */
type Timer = ReturnType<typeof setTimeout>;
type NodeTimeout = { refresh?: () => unknown; unref?: () => unknown };
/**
 * The flush timer, made once and re-armed with `refresh()` for each batch (a
 * new `setTimeout` per batch cost ten times more); it never keeps the process
 * alive: `unload` writes what is left.
 */
let timer: Timer | undefined;
/** True while a flush is due (the timer is armed for the pending lines). */
let due = false;

/** Writes every pending line to stderr now (the process exit and crash paths call it). */
export function flushLog(): void {
  due = false;
  if (pending === "") return;
  const text = pending;
  pending = "";
  // one buffer kept for every batch (UTF-8 takes at most 3 bytes per UTF-16 unit);
  // a batch too large for it (a huge line) is encoded on its own
  let bytes = text.length * 3 > scratch.length
    ? encoder.encode(text)
    : scratch.subarray(0, encoder.encodeInto(text, scratch).written);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
}

/** Flushes on exit (`unload` fires on `Deno.exit` too) and before an uncaught error is reported. */
function hookExit(): void {
  globalThis.addEventListener("unload", flushLog);
  globalThis.addEventListener("error", flushLog);
  globalThis.addEventListener("unhandledrejection", flushLog);
}

/** Arms the flush timer for {@link FLUSH_MS} from now. */
function armFlush(): void {
  due = true;
  const refresh = (timer as NodeTimeout | undefined)?.refresh;
  if (refresh) {
    refresh.call(timer);
    return;
  }
  if (timer === undefined) hookExit();
  else clearTimeout(timer); // a number: no refresh, a new timer each batch
  timer = setTimeout(flushLog, FLUSH_MS);
  if (typeof timer === "number") Deno.unrefTimer(timer);
  else (timer as NodeTimeout).unref?.();
}

function writeStderr(line: string): void {
  pending += line + "\n";
  if (pending.length >= FLUSH_CHARS) return flushLog();
  if (!due) armFlush();
}

const MAX_DEPTH = 6;

const secretKeys = new Map<string, boolean>();

/** The level functions of `createLogger` loggers that write nothing. */
const SILENT = new WeakSet<(msg: string, fields?: LogFields) => void>();

/**
 * False when `log` is known to drop `level` lines, so a caller can skip building
 * the fields. True for any logger not made by {@link createLogger}.
 */
export function logsAt(log: Logger, level: LogLevel): boolean {
  return !SILENT.has(log[level]);
}

/** True for a key whose value is never logged (memoised: keys are few). */
function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key) && key !== "token_present";
    if (secretKeys.size < 4096) secretKeys.set(key, secret);
  }
  return secret;
}

/** Replaces values under secret-looking keys, in nested objects and arrays too. */
function redact(key: string, value: unknown, depth: number): unknown {
  if (isSecretKey(key)) return "[redacted]";
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[nested]";
  if (Array.isArray(value)) return value.map((v) => redact("", v, depth + 1));
  const out: LogFields = {};
  for (const [k, v] of Object.entries(value)) out[k] = redact(k, v, depth + 1);
  return out;
}

const REDACTED_JSON = JSON.stringify("[redacted]");
const prefixes = new Map<string, string | undefined>();
const messages = new Map<string, string>();

/**
 * `,"key":` for a field (memoised: keys are few), or undefined for a key that
 * needs the whole line through JSON.stringify.
 */
function prefixOf(key: string): string | undefined {
  let prefix = prefixes.get(key);
  if (prefix === undefined && !prefixes.has(key)) {
    prefix = needsObjectLine(key) ? undefined : `,${JSON.stringify(key)}:`;
    if (prefixes.size < 4096) prefixes.set(key, prefix);
  }
  return prefix;
}

/** A message as a JSON string (memoised: messages are constant texts). */
function quoted(msg: string): string {
  let json = messages.get(msg);
  if (json === undefined) {
    json = JSON.stringify(msg);
    if (messages.size < 4096) messages.set(msg, json);
  }
  return json;
}

/** Fields that would collide with the fixed keys or be reordered by JSON.stringify. */
function needsObjectLine(key: string): boolean {
  const c = key.charCodeAt(0);
  return key === "ts" || key === "level" || key === "msg" || (c >= 48 && c <= 57);
}

/**
 * True when JSON.stringify of `fields` is the line's tail as the field loop writes
 * it: no nested value to walk for secrets, no secret-named key, no key that needs
 * the whole line through {@link objectLine}.
 */
function plainFields(fields: LogFields): boolean {
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined) continue;
    if (typeof value === "object" && value !== null) return false;
    if (prefixOf(key) === undefined || isSecretKey(key)) return false;
  }
  return true;
}

/** The line as one object through JSON.stringify (the reference form). */
function objectLine(ts: string, level: LogLevel, msg: string, fields: LogFields): string {
  const line: LogFields = { ts, level, msg };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    line[key] = redact(key, value, 0);
  }
  return JSON.stringify(line);
}

/**
 * Creates a logger that writes one JSON object per line. The fixed part of a line
 * is pre-serialised and each field is serialised on its own; primitive fields skip
 * the redaction walk (only their key is checked).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? writeStderr;
  const now = options.now ?? Date.now;
  let lastMs = NaN;
  let lastTs = "";
  const timestamp = (): string => {
    const ms = now();
    if (ms !== lastMs) {
      lastTs = isoTime(ms);
      lastMs = ms;
    }
    return lastTs;
  };
  const make = (level: LogLevel) => {
    const enabled = LOG_LEVELS.indexOf(level) >= min;
    const head = `","level":${JSON.stringify(level)},"msg":`;
    const log = function log(msg: string, fields: LogFields = {}): void {
      if (!enabled) return;
      const ts = timestamp();
      let line = `{"ts":"${ts}${head}${quoted(msg)}`;
      if (plainFields(fields)) {
        // one JSON.stringify for every field (it drops undefined ones, as below)
        const json = JSON.stringify(fields);
        write(json.length === 2 ? `${line}}` : `${line},${json.slice(1)}`);
        return;
      }
      for (const key of Object.keys(fields)) {
        const value = fields[key];
        if (value === undefined) continue;
        const prefix = prefixOf(key);
        if (prefix === undefined) {
          write(objectLine(ts, level, msg, fields));
          return;
        }
        const json = typeof value === "string"
          ? isSecretKey(key) ? REDACTED_JSON : JSON.stringify(value)
          : JSON.stringify(
            typeof value === "object" && value !== null
              ? redact(key, value, 0)
              : isSecretKey(key)
              ? "[redacted]"
              : value,
          );
        if (json !== undefined) line += prefix + json;
      }
      write(line + "}");
    };
    if (!enabled) SILENT.add(log);
    return log;
  };
  return { debug: make("debug"), info: make("info"), warn: make("warn"), error: make("error") };
}

/** Parses `LOG_LEVEL`; unknown values fall back to `info`. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? "info").toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? level as LogLevel : "info";
}
