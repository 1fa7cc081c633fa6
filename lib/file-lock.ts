import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type * as ProperLockfile from "proper-lockfile";

// The one cross-process lock: a `<target>.lock` directory (mkdir is atomic on every local filesystem) that
// proper-lockfile keeps fresh while held. A lock whose holder was killed stops being refreshed and is taken over
// once it is `staleMs` old, so a crash never wedges anything.

/** A holder refreshes its lock every stale/2; one SIGKILLed stops refreshing and is taken over after this long. */
export const DEFAULT_LOCK_STALE_MS = 10_000;

export interface FileLockOptions {
  /** How long to keep trying while another process holds the lock: 0 tries once, Infinity (default) waits. */
  waitMs?: number;
  staleMs?: number;
  /** Stops the wait (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Called once, when the lock is busy and the wait starts. */
  onWait?: () => void;
}

export interface HeldLock {
  /** Aborted if the lock is lost while held (taken over as stale after an event-loop stall, or removed). */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

// Loaded on first use: proper-lockfile (graceful-fs) costs ~0.2 s of start-up that many processes never need.
let loaded: Promise<typeof ProperLockfile> | undefined;
function lockfile(): Promise<typeof ProperLockfile> {
  // Its CommonJS exports through `default`: node's named-export guessing is not there once the bins are bundled.
  loaded ??= import("proper-lockfile").then((module) => (module as unknown as { default: typeof ProperLockfile }).default);
  return loaded;
}

async function tryLock(target: string, staleMs: number, retried = false): Promise<HeldLock | undefined> {
  const { lock } = await lockfile();
  const lost = new AbortController();
  try {
    const release = await lock(target, {
      realpath: false,
      stale: staleMs,
      retries: 0,
      // The library's default throws from a timer and kills the process; the holder decides what a loss means.
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
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOCKED") return undefined;
    // The directory the lock lives in was removed as empty (the last environment was deleted): make it again.
    if (code === "ENOENT" && !retried) {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      return tryLock(target, staleMs, true);
    }
    throw error;
  }
}

/**
 * Takes the lock on `target` (which need not exist), waiting with jittered backoff while another process holds it.
 * undefined when it is still held by someone else after `waitMs`.
 */
export async function acquireFileLock(target: string, options: FileLockOptions = {}): Promise<HeldLock | undefined> {
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const deadline = Date.now() + (options.waitMs ?? Number.POSITIVE_INFINITY);
  let pause = 25;
  let waiting = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const held = await tryLock(target, staleMs);
    if (held !== undefined) return held;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    if (!waiting) options.onWait?.();
    waiting = true;
    // Jittered so that waiting processes do not poll in lockstep.
    await sleep(Math.min(left, pause * (0.5 + Math.random())), undefined, { signal: options.signal });
    pause = Math.min(pause * 2, 500);
  }
}

/** True when a live process holds the lock on `target` (a stale lock counts as free). */
export async function isFileLocked(target: string, staleMs = DEFAULT_LOCK_STALE_MS): Promise<boolean> {
  const { check } = await lockfile();
  return check(target, { realpath: false, stale: staleMs });
}

/**
 * Runs `fn` holding the lock on `target`; when another process still holds it after `waitMs`, throws `busy()`
 * without running `fn`. The lock is released however `fn` ends.
 */
export async function withFileLock<T>(
  target: string,
  options: FileLockOptions & { busy: () => Error },
  fn: (held: HeldLock) => Promise<T>,
): Promise<T> {
  const held = await acquireFileLock(target, options);
  if (held === undefined) throw options.busy();
  try {
    return await fn(held);
  } finally {
    // A failed release leaves a lock that goes stale by itself; the work's own outcome matters more.
    await held.release().catch(() => undefined);
  }
}
