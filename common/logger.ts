// Structured JSON logs for the daemons, one line per entry on stdout. Each daemon logs
// `{"msg":"ready", ...}` once it accepts work; tests and `fluxo dev` wait for that line.
//
// The lines are pino's (`{"level":30,"time":"<ISO>","component":…,"pid":…,…fields,"msg":…}`, the
// same numeric levels, `err` serialized as {type, message, stack}) but written by these few lines
// instead of pino: pino and its helpers cost an idle agent ~9 MB of RSS (docs/benchmarks.md, "Idle
// agent"), and the daemons only ever call `level(fields?, message)` and `child(fields)`. pino's
// own loggers still fit the `Logger` type (tests capture lines with them).
import { format } from 'node:util';

/** Numeric levels, as pino writes them. */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export type LevelName = keyof typeof LEVELS;

/** One level's method: `(fields, message, ...format args)` or `(message, ...format args)`. */
export interface LogFn {
  (fields: object, message?: string, ...args: unknown[]): void;
  (message: string, ...args: unknown[]): void;
}

/** What the daemons log with (pino's Logger satisfies it too). */
export interface Logger {
  level: string;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose lines also carry `bindings`. */
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: string): boolean;
}

/**
 * A logger for one component, at FLUXO_LOG_LEVEL (default `info`; `silent` logs nothing).
 *
 * @example createLogger('server').info({ url }, 'ready')
 */
export function createLogger(
  component: string,
  level = process.env.FLUXO_LOG_LEVEL ?? 'info',
  /** Where each line goes. @default stdout (synchronous for files and pipes on Linux, so the last lines are not lost) */
  write: (line: string) => void = (line) => void process.stdout.write(line),
): Logger {
  if (level !== 'silent' && !(level in LEVELS)) throw new TypeError(`unknown log level ${JSON.stringify(level)}: use one of ${Object.keys(LEVELS).join(', ')}, silent`);
  return new JsonLinesLogger(level, fieldsText({ component, pid: process.pid }), write);
}

class JsonLinesLogger implements Logger {
  readonly level: string;
  readonly #threshold: number;
  /** `,"k":v` for every binding, serialized once. */
  readonly #bindings: string;
  readonly #write: (line: string) => void;

  constructor(level: string, bindings: string, write: (line: string) => void) {
    this.level = level;
    this.#threshold = level === 'silent' ? Infinity : LEVELS[level as LevelName];
    this.#bindings = bindings;
    this.#write = write;
  }

  readonly trace: LogFn = (...args: unknown[]) => this.#log(LEVELS.trace, args);
  readonly debug: LogFn = (...args: unknown[]) => this.#log(LEVELS.debug, args);
  readonly info: LogFn = (...args: unknown[]) => this.#log(LEVELS.info, args);
  readonly warn: LogFn = (...args: unknown[]) => this.#log(LEVELS.warn, args);
  readonly error: LogFn = (...args: unknown[]) => this.#log(LEVELS.error, args);
  readonly fatal: LogFn = (...args: unknown[]) => this.#log(LEVELS.fatal, args);

  child(bindings: Record<string, unknown>): Logger {
    return new JsonLinesLogger(this.level, this.#bindings + fieldsText(bindings), this.#write);
  }

  isLevelEnabled(level: string): boolean {
    return level in LEVELS && LEVELS[level as LevelName] >= this.#threshold;
  }

  #log(level: number, args: unknown[]): void {
    if (level < this.#threshold) return;
    let fields: Record<string, unknown> | undefined;
    // pino's way with a bare error: it goes under `err`, and its message is the line's when none is given.
    if (args[0] instanceof Error) {
      const error = args.shift() as Error;
      fields = { err: error };
      if (args.length === 0) args.push(error.message);
    }
    else if (typeof args[0] === 'object' && args[0] !== null) fields = args.shift() as Record<string, unknown>;
    const message = args.length === 0 ? undefined : args.length === 1 ? String(args[0]) : format(...args);
    let line = `{"level":${level},"time":"${new Date().toISOString()}"${this.#bindings}`;
    if (fields) line += fieldsText(fields);
    if (message !== undefined) line += `,"msg":${JSON.stringify(message)}`;
    this.#write(`${line}}\n`);
  }
}

/** `,"k":v` per field; `undefined` values are left out (as JSON.stringify does), an Error `err` keeps its message and stack. */
function fieldsText(fields: Record<string, unknown>): string {
  let text = '';
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'msg' || key === 'level' || key === 'time') continue;
    const json = safeJson(key === 'err' && value instanceof Error ? serializeError(value) : value);
    if (json !== undefined) text += `,${JSON.stringify(key)}:${json}`;
  }
  return text;
}

/** pino's error serializer, in short: type, message, stack, own fields (code, details) and the cause. */
function serializeError(error: Error, seen = new Set<Error>()): Record<string, unknown> {
  seen.add(error);
  const out: Record<string, unknown> = { type: error.constructor?.name ?? error.name, message: error.message, stack: error.stack };
  for (const [key, value] of Object.entries(error)) if (!(key in out)) out[key] = value;
  if (error.cause instanceof Error && !seen.has(error.cause)) out.cause = serializeError(error.cause, seen);
  return out;
}

/** JSON of a field value; a cycle or a BigInt becomes a string rather than losing the line. */
function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(String(value));
  }
}
