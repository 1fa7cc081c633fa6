import { execFile } from "node:child_process";
import { ProviderError } from "../kit/index.js";

// Every external tool runs through here: argv arrays only, never a shell, with a bounded run time.

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    message: string,
  ) {
    super(message);
  }
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      { timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === "number" ? error.code : null;
          const why = error.killed ? "timed out" : code === null ? error.message : `exited with ${code}`;
          const detail = stderr.trim() || stdout.trim();
          reject(new CommandError(command, args, code, stderr, `${command} ${args.join(" ")} ${why}${detail ? `: ${detail}` : ""}`));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a command and turns a failure into a PROVIDER_ERROR that says what we were doing. */
export async function runOrFail(what: string, command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  try {
    return await run(command, args, options);
  } catch (error) {
    throw new ProviderError("PROVIDER_ERROR", `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
