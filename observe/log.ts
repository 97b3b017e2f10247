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
        line[key] = SECRET_KEY.test(key) && key !== "token_present" ? "[redacted]" : value;
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
