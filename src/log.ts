/** Logging to stderr only: in stdio mode stdout belongs to the protocol. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A line shown whatever the level (the start line a person waits for). */
  always(msg: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

export interface LogOptions {
  level: LogLevel;
  format: "text" | "json";
  write?: (line: string) => void;
}

/** A logger writing one line per event to stderr, as text or JSON lines. */
export function createLogger(opts: LogOptions, scope = "herd"): Logger {
  const write = opts.write ?? ((line: string) => void process.stderr.write(line + "\n"));
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>, force = false) => {
    if (!force && ORDER[level] < ORDER[opts.level]) return;
    const time = new Date().toISOString();
    if (opts.format === "json") {
      write(JSON.stringify({ time, level, scope, msg, ...fields }));
      return;
    }
    const extra = fields && Object.keys(fields).length ? " " + formatFields(fields) : "";
    write(`${time} ${level.toUpperCase().padEnd(5)} [${scope}] ${msg}${extra}`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    always: (m, f) => emit("info", m, f, true),
    child: (s) => createLogger({ ...opts, write }, `${scope}:${s}`),
  };
}

function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(" ");
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  always() {},
  child: () => silentLogger,
};
