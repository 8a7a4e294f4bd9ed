// NSQ's log format (internal/lg on top of Go's `log` with date, time and microseconds):
//   [nsqd] 2026/11/29 05:14:11.440136 INFO: TCP: listening on [::]:4150
// The prefix comes first, then local time, then the level word. A JSON-lines mode exists for log
// shippers; it keeps the same level filtering.

/** Log level, as NSQ numbers them: 1 debug, 2 info, 3 warn, 4 error, 5 fatal. */
export type LogLevel = 1 | 2 | 3 | 4 | 5;

/** Named log level constants, e.g. LogLevels.info === 2. */
export const LogLevels = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 } as const satisfies Record<string, LogLevel>;

const LEVEL_NAMES = ['', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
// NSQ writes WARNING (not WARN) in text lines.
const LEVEL_WORDS = ['', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'FATAL'] as const;

/** Parse a level name (`debug|info|warn|error|fatal`, case-insensitive); undefined when unknown. */
export function parseLogLevel(s: string): LogLevel | undefined {
  switch (s.toLowerCase()) {
    case 'debug': return 1;
    case 'info': return 2;
    case 'warn': return 3;
    case 'error': return 4;
    case 'fatal': return 5;
    default: return undefined;
  }
}

/** The lower-case name of a level ('debug', 'info', 'warn', 'error', 'fatal'). */
export function logLevelName(level: LogLevel): string {
  return LEVEL_NAMES[level];
}

/** Construction options for Logger. */
export interface LoggerOptions {
  /** Text written before each line, e.g. "[nsqd] " (NSQ's --log-prefix). */
  prefix: string;
  /** Lowest level written; lower levels are dropped. */
  level: LogLevel;
  /** Line sink, called with one complete line ending in "\n"; default process.stderr.write. */
  write?: (line: string) => void;
  /** Write one JSON object per line instead of NSQ's text format; default false. */
  json?: boolean;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Local time as Go's log prints it with Ldate|Ltime|Lmicroseconds: "2006/01/02 15:04:05.000000". */
export function formatLogTime(epochMs: number): string {
  const whole = Math.floor(epochMs);
  const d = new Date(whole);
  const micros = Math.floor((epochMs - whole) * 1000) + d.getMilliseconds() * 1000;
  return (
    `${d.getFullYear()}/${pad(d.getMonth() + 1, 2)}/${pad(d.getDate(), 2)} ` +
    `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(micros, 6)}`
  );
}

/** Wall-clock time in milliseconds with a sub-millisecond fraction (for the microseconds field). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A levelled logger writing NSQ-format text lines (or JSON lines) to stderr or a given sink. */
export class Logger {
  /** Lowest level written; may be changed at runtime (nsqd's PUT /config/log_level). */
  level: LogLevel;
  /** Text written before each text line, e.g. "[nsqd] ". */
  prefix: string;
  /** True when lines are JSON objects instead of NSQ's text format. */
  readonly json: boolean;
  private readonly write: (line: string) => void;

  /** Create a logger with a prefix, a minimum level and optionally a sink and JSON mode. */
  constructor(opts: LoggerOptions) {
    this.prefix = opts.prefix;
    this.level = opts.level;
    this.json = opts.json ?? false;
    this.write = opts.write ?? ((line: string) => void process.stderr.write(line));
  }

  /** Write `msg` at `level` unless the level is below the logger's current level. */
  log(level: LogLevel, msg: string): void {
    if (level < this.level) return;
    const t = nowMs();
    if (this.json) {
      const prefix = this.prefix.trim().replace(/^\[(.*)\]$/, '$1');
      this.write(JSON.stringify({ level: LEVEL_NAMES[level], time: new Date(t).toISOString(), prefix, msg }) + '\n');
      return;
    }
    const line = `${this.prefix}${formatLogTime(t)} ${LEVEL_WORDS[level]}: ${msg}`;
    // Go's log.Output adds a newline only when the message lacks one.
    this.write(line.endsWith('\n') ? line : line + '\n');
  }

  /** Log at debug level (1). */
  debug(msg: string): void {
    if (this.level <= 1) this.log(1, msg);
  }

  /** Log at info level (2). */
  info(msg: string): void {
    if (this.level <= 2) this.log(2, msg);
  }

  /** Log at warn level (3); the text format calls it WARNING. */
  warn(msg: string): void {
    if (this.level <= 3) this.log(3, msg);
  }

  /** Log at error level (4). */
  error(msg: string): void {
    if (this.level <= 4) this.log(4, msg);
  }

  /** Log at fatal level (5); only logs, exiting is the caller's decision (as in NSQ's lg package). */
  fatal(msg: string): void {
    this.log(5, msg);
  }
}

class NullLogger extends Logger {
  override log(): void {}
}

/** A Logger that drops every message (for tests and embedding). */
export const nullLogger: Logger = new NullLogger({ prefix: '', level: 5, write: () => {} });

/** The message of a thrown value (an Error's message, anything else as a string). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A thrown value with its stack when it has one (for logging bugs). */
export function errorStack(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
