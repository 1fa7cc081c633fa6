import { join } from "node:path";
import { acquireFileLock, type HeldLock } from "../../lib/file-lock.js";
import { makeDirs } from "../../lib/durable-file.js";
import { TestenvError } from "../errors.js";

// Image cache locks live under <cache>/.locks, one per image slot plus one for metadata.json. A download is slow,
// so a killed holder's lock goes stale later than a state lock does.
const STALE_MS = 20_000;

export type { HeldLock } from "../../lib/file-lock.js";

export interface LockOptions {
  signal?: AbortSignal;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: () => void;
}

async function lock(locksDir: string, name: string, options: LockOptions & { waitMs?: number }): Promise<HeldLock | undefined> {
  // 0755: the cache is shared with qemu running as another user.
  await makeDirs(locksDir, 0o755);
  return acquireFileLock(join(locksDir, name), { staleMs: STALE_MS, ...options });
}

/** Waits (abortable) until the named lock is ours. */
export async function acquireLock(locksDir: string, name: string, options: LockOptions = {}): Promise<HeldLock> {
  const held = await lock(locksDir, name, options);
  // Without a waitMs the wait only ends by success or abort.
  if (held === undefined) throw new TestenvError("INTERNAL", `image cache lock "${name}" was not taken`);
  return held;
}

/** The lock if it is free now, else undefined (used by prune, which must never wait on a download). */
export async function tryAcquireLock(locksDir: string, name: string): Promise<HeldLock | undefined> {
  return lock(locksDir, name, { waitMs: 0 });
}

/** Runs `fn` holding the named lock; `fn` gets a signal that aborts if the lock is lost or the caller aborts. */
export async function withLock<T>(
  locksDir: string,
  name: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const held = await acquireLock(locksDir, name, options);
  const signal = options.signal ? AbortSignal.any([options.signal, held.signal]) : held.signal;
  try {
    const result = await fn(signal);
    if (held.signal.aborted) throw lockLost(name, held.signal.reason);
    return result;
  } catch (error) {
    if (held.signal.aborted && !(error instanceof TestenvError)) throw lockLost(name, held.signal.reason);
    throw error;
  } finally {
    await held.release();
  }
}

function lockLost(name: string, cause: unknown): TestenvError {
  return new TestenvError(
    "IMAGE_ERROR",
    `lost the image cache lock "${name}" (another process took it over as stale); the operation was stopped. Retry it.`,
    { cause, retryable: true },
  );
}
