import { setTimeout as sleep } from "node:timers/promises";
import lockfile from "proper-lockfile";
import { createLogger } from "../log.js";

const log = createLogger("testenv-vm:lock");

/** A holder refreshes its lock every stale/2; one SIGKILLed stops refreshing and is taken over after this long. */
export const DEFAULT_LOCK_STALE_MS = 10_000;

export interface FileLockOptions {
  /** How long to keep trying while another process holds the lock; 0 tries once. */
  waitMs: number;
  staleMs?: number;
}

export type ReleaseLock = () => Promise<void>;

/**
 * Cross-process lock on `target` (a `<target>.lock` directory, which proper-lockfile keeps fresh).
 * Returns undefined when the lock is still held by someone else after waitMs. The target need not exist.
 */
export async function acquireFileLock(target: string, options: FileLockOptions): Promise<ReleaseLock | undefined> {
  const deadline = Date.now() + options.waitMs;
  let pause = 25;
  for (;;) {
    try {
      return await lockfile.lock(target, {
        realpath: false,
        stale: options.staleMs ?? DEFAULT_LOCK_STALE_MS,
        retries: 0,
        // The default throws from a timer and kills the process; the holder's work is better finished than torn.
        onCompromised: (error) => log.warn("lock lost while held (event loop stalled or lock removed)", {
          target,
          error: error.message,
        }),
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    }
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    // Jittered backoff so waiting processes do not poll in lockstep.
    await sleep(Math.min(left, pause * (0.5 + Math.random())));
    pause = Math.min(pause * 2, 500);
  }
}

/** True when a live process holds the lock on `target` (a stale lock counts as free). */
export async function isFileLocked(target: string, staleMs = DEFAULT_LOCK_STALE_MS): Promise<boolean> {
  return lockfile.check(target, { realpath: false, stale: staleMs });
}
