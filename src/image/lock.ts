import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import lockfile from "proper-lockfile";

import { TestenvError } from "../errors.js";
import { makeSharedDir } from "./metadata.js";

// Cross-process locks are directories under <cache>/.locks (proper-lockfile uses mkdir, which is atomic on
// every local filesystem). A holder refreshes the lock's mtime; a lock left by a killed process goes stale
// after STALE_MS and is taken over, so a crash never wedges the cache.
const STALE_MS = 20_000;
const POLL_MS = 150;

export interface HeldLock {
  /** Aborted when the lock is lost (taken over as stale), so the holder stops writing. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: () => void;
}

function lockTarget(locksDir: string, name: string): string {
  return join(locksDir, name);
}

async function tryLock(locksDir: string, name: string): Promise<HeldLock | undefined> {
  await makeSharedDir(locksDir);
  const lost = new AbortController();
  try {
    const release = await lockfile.lock(lockTarget(locksDir, name), {
      realpath: false,
      stale: STALE_MS,
      retries: 0,
      onCompromised: (error) => lost.abort(error),
    });
    return {
      signal: lost.signal,
      release: async () => {
        // A compromised lock is already gone; releasing it again would throw ERELEASED.
        if (!lost.signal.aborted) await release();
      },
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOCKED") return undefined;
    throw error;
  }
}

/** Waits (polling, abortable) until the named lock is ours. */
export async function acquireLock(locksDir: string, name: string, options: LockOptions = {}): Promise<HeldLock> {
  let waited = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const held = await tryLock(locksDir, name);
    if (held !== undefined) return held;
    if (!waited) options.onWait?.();
    waited = true;
    await sleep(POLL_MS + Math.floor(Math.random() * POLL_MS), undefined, { signal: options.signal });
  }
}

/** The lock if it is free now, else undefined (used by prune, which must never wait on a download). */
export async function tryAcquireLock(locksDir: string, name: string): Promise<HeldLock | undefined> {
  return tryLock(locksDir, name);
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
