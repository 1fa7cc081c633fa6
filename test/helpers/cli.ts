import { execFile } from "node:child_process";
import { ORCHESTRATOR_BIN } from "./mcp.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in `cwd` with a minimal environment (PATH, HOME = cwd, warn logs) plus `env`. */
export function runCli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ORCHESTRATOR_BIN, ...args],
      { cwd, env: { PATH: process.env.PATH ?? "", HOME: cwd, TESTENV_VM_LOG: "warn", ...env }, timeout: 110_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
