import { mkdir, readFile, rm } from "node:fs/promises";
import { run, type RunOptions, type RunResult } from "../../lib/run.js";
import { pathExists } from "../kit/index.js";

// "Where does this run": the one seam between the provider and the machine its libvirt daemon runs on. The local
// host is the file system and lib/run as before (no extra process); a remote host runs the same argv over SSH.

export interface LibvirtHost {
  /** "local", or user@host of a remote libvirt host: recorded with every resource made there. */
  readonly name: string;
  readonly remote: boolean;
  /** Runs argv on the host; the same contract as lib/run (a CommandError on a non-zero exit). */
  run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  exists(path: string): Promise<boolean>;
  readText(path: string): Promise<string>;
  /** The last `bytes` of a text file, "" when there is none. */
  tailText(path: string, bytes: number): Promise<string>;
  makeDir(path: string, mode?: number): Promise<void>;
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  /**
   * Puts a file made by `build` at `path` on the host: locally it is built in place; a remote host gets it built in
   * a local temporary file and uploaded.
   */
  produce(path: string, build: (localPath: string) => Promise<void>): Promise<void>;
  /** Copies a local file to `path` on the host (same file on the local host: nothing to do). */
  upload(localPath: string, path: string): Promise<void>;
  close(): Promise<void>;
}

export class LocalHost implements LibvirtHost {
  readonly name = "local";
  readonly remote = false;

  run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(command, args, options);
  }

  exists(path: string): Promise<boolean> {
    return pathExists(path);
  }

  readText(path: string): Promise<string> {
    return readFile(path, "utf8");
  }

  async tailText(path: string, bytes: number): Promise<string> {
    const text = await readFile(path, "utf8").catch(() => "");
    return text.length > bytes ? text.slice(-bytes) : text;
  }

  async makeDir(path: string, mode = 0o755): Promise<void> {
    await mkdir(path, { recursive: true, mode });
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    await rm(path, { force: true, recursive: options.recursive === true });
  }

  produce(path: string, build: (localPath: string) => Promise<void>): Promise<void> {
    return build(path);
  }

  upload(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The one local host: it holds no state, so every user shares it. */
export const LOCAL_HOST: LibvirtHost = new LocalHost();
