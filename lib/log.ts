import { appendFileSync } from "node:fs";

// Stdout belongs to the protocol: every log line goes to stderr, and to per-environment files when attached.

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(namespace: string): Logger;
  /** Also write this logger's lines (and its children's) to a file. */
  withFile(path: string): Logger;
}

function threshold(): number {
  const wanted = (process.env.TESTENV_VM_LOG ?? "info").toLowerCase();
  return LEVELS[wanted as LogLevel] ?? LEVELS.info;
}

export function createLogger(namespace = "testenv-vm", files: readonly string[] = []): Logger {
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${namespace}] ${message}${extra}\n`;
    if (LEVELS[level] >= threshold()) process.stderr.write(line);
    for (const file of files) {
      try {
        appendFileSync(file, line, { mode: 0o600 });
      } catch {
        // A log file that vanished (artifact dir removed) must never fail the operation being logged.
      }
    }
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (sub) => createLogger(`${namespace}:${sub}`, files),
    withFile: (path) => createLogger(namespace, [...files, path]),
  };
}
