import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../../..");

/** Runs a TypeScript helper in a real node process (tsx loader), from the repository root. */
export function spawnTs(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, script), ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
}

/** Resolves with the child's stdout once it contains `text`; rejects if the child exits first. */
export function waitForOutput(child: ChildProcess, text: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = "";
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.includes(text)) {
        child.stdout?.off("data", onData);
        resolvePromise(out);
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before printing ${text}; output: ${out}`)));
  });
}

export function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise) => child.once("exit", (code) => resolvePromise(code)));
}
