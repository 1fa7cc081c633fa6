import { lstat, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { run, type RunOptions, type RunResult } from "../../lib/run.js";
import { pathExists } from "../kit/index.js";

// "Where does this run": the one seam between the provider and the machine its libvirt daemon runs on. The local
// host is the file system and lib/run as before (no extra process); a remote host runs the same argv over SSH.

/** One entry of a folder on the host. A symlink or special file is "other": gc never follows or takes one. */
export interface HostDirEntry {
  name: string;
  type: "dir" | "file" | "other";
  /** When it was made (birth time where the file system keeps one, else its last change), ISO 8601. */
  madeAt?: string;
}

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
  /** The entries of the folder at the absolute `path`, sorted by name; [] when there is no such folder. */
  list(path: string): Promise<HostDirEntry[]>;
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

  async list(path: string): Promise<HostDirEntry[]> {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    const listed: HostDirEntry[] = [];
    for (const entry of entries) {
      const info = await lstat(join(path, entry.name)).catch(() => undefined);
      if (info === undefined) continue; // gone meanwhile
      const type = entry.isDirectory() ? "dir" : entry.isFile() ? "file" : "other";
      listed.push({ name: entry.name, type, madeAt: new Date(info.birthtimeMs > 0 ? info.birthtimeMs : info.mtimeMs).toISOString() });
    }
    return listed.sort(byName);
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

export function byName(a: HostDirEntry, b: HostDirEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The one local host: it holds no state, so every user shares it. */
export const LOCAL_HOST: LibvirtHost = new LocalHost();
