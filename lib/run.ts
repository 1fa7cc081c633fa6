import { execFile } from "node:child_process";

// Every short-lived external command runs through here: argv arrays only, never a shell, with a bounded run time.

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Default 120 s; 0 lets the command run as long as it takes (then give a signal). */
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Signal sent when the time is up (default SIGTERM). */
  killSignal?: NodeJS.Signals;
  /** Working directory of the command (default: this process's). */
  cwd?: string;
  /** The most stdout (and, separately, stderr) kept; more fails the run (default 64 MiB). */
  maxOutputBytes?: number;
}

export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    /** The exit code; null when killed by a signal or when the command could not be started. */
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Set to 1 in the environment of a process that must start no command (a provider making a plan): run() then
 * refuses, and says so on stderr, so that a dry run that would have touched the host is seen, not hidden.
 */
export const FORBID_EXEC_ENV = "TESTENV_VM_FORBID_EXEC";

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  if (process.env[FORBID_EXEC_ENV] === "1") {
    process.stderr.write(`exec refused (${FORBID_EXEC_ENV}=1): ${command} ${args.join(" ")}\n`);
    return Promise.reject(new CommandError(command, args, null, "", false, `${command} was not run: this process may start no command (${FORBID_EXEC_ENV}=1, a dry run)`));
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      {
        timeout: options.timeoutMs ?? 120_000,
        killSignal: options.killSignal ?? "SIGTERM",
        maxBuffer: options.maxOutputBytes ?? 64 * 1024 * 1024,
        env: options.env ?? process.env,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        encoding: "utf8",
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === "number" ? error.code : null;
          const why = error.killed ? "timed out" : code === null ? error.message : `exited with ${code}`;
          const detail = stderr.trim() || stdout.trim();
          reject(new CommandError(command, args, code, stderr, error.killed === true, `${command} ${args.join(" ")} ${why}${detail ? `: ${detail}` : ""}`));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) {
      // A command that exits without reading its input closes the pipe (EPIPE): its exit status tells what happened.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(options.input);
    }
  });
}
