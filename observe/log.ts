/**
 * JSON-lines logger on stderr with a level filter. Keys that could carry a secret
 * are redacted before writing, as a second line of defence: callers never pass
 * tokens in the first place.
 *
 * @module
 */

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

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

const MAX_DEPTH = 6;

/** Replaces values under secret-looking keys, in nested objects and arrays too. */
function redact(key: string, value: unknown, depth: number): unknown {
  if (SECRET_KEY.test(key) && key !== "token_present") return "[redacted]";
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[nested]";
  if (Array.isArray(value)) return value.map((v) => redact("", v, depth + 1));
  const out: LogFields = {};
  for (const [k, v] of Object.entries(value)) out[k] = redact(k, v, depth + 1);
  return out;
}

/** Creates a logger that writes one JSON object per line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? writeStderr;
  const now = options.now ?? Date.now;
  const make = (level: LogLevel) => {
    const enabled = LOG_LEVELS.indexOf(level) >= min;
    return function log(msg: string, fields: LogFields = {}): void {
      if (!enabled) return;
      const line: LogFields = { ts: new Date(now()).toISOString(), level, msg };
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        line[key] = redact(key, value, 0);
      }
      write(JSON.stringify(line));
    };
  };
  return { debug: make("debug"), info: make("info"), warn: make("warn"), error: make("error") };
}

/** Parses `LOG_LEVEL`; unknown values fall back to `info`. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? "info").toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? level as LogLevel : "info";
}
