import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, readdir, rm, rename, rmdir, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

// The one way a file is replaced: a reader, or a crash at any moment, sees the old content or the new, never a
// mix or nothing. Every durable file of the project (state, image metadata, known hosts, provider records and
// stores) is written through here.

export interface AtomicWriteOptions {
  /** Mode of the new file (default 0600). */
  mode?: number;
  /** Create the parent directories first, with this mode. */
  makeDirs?: number;
}

/** temp file in the same directory → write → fsync → rename → fsync of the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  if (options.makeDirs !== undefined) await makeDirs(dir, options.makeDirs);
  // Dot-prefixed so that directory listings looking for the real files never pick up a half-written one.
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, "wx", options.mode ?? 0o600);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** JSON, pretty-printed with a final newline, written atomically. */
export async function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Removes `path` (absent is fine) and makes the removal durable. */
export async function removeFileDurably(path: string): Promise<void> {
  try {
    await rm(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  await syncDirectory(dirname(path));
}

/**
 * Removes the temp files writeFileAtomic left for `path` when its process was killed mid-write. Only for a caller
 * that holds the file's lock: another writer's temp file would go too.
 */
export async function removeAbandonedTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const name = basename(path);
  const isTemp = (entry: string): boolean => entry.startsWith(`.${name}.`) && /^[0-9a-f]{12}\.tmp$/.test(entry.slice(name.length + 2));
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  for (const entry of entries.filter(isTemp)) await rm(join(dir, entry), { force: true });
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems cannot fsync a directory; the rename itself already happened there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "ENOTSUP") throw error;
  } finally {
    await handle.close();
  }
}

/** The file's text, or undefined when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * mkdir -p that gives every directory it creates exactly `mode`, whatever the umask: qemu running as another user
 * (libvirt-qemu under qemu:///system) must be able to reach cached images and provider files.
 */
export async function makeDirs(dir: string, mode: number): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode });
  if (first === undefined) return;
  for (let current = dir; ; current = dirname(current)) {
    await chmod(current, mode);
    if (current === first || dirname(current) === current) return;
  }
}

/**
 * Removes each directory in turn while it is empty (innermost first), stopping at the first that is not: leaves
 * nothing behind once the last file is gone, and never removes anything that still holds something.
 */
export async function removeEmptyDirs(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    try {
      await rmdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      return; // ENOTEMPTY, EBUSY, EACCES: someone still uses it
    }
  }
}
