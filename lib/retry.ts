import { setTimeout as sleep } from "node:timers/promises";

// The one deadline loop: try, and on "not yet" or a retryable error wait and try again, until the deadline.

export interface RetryOptions {
  timeoutMs: number;
  /** First pause between attempts (ms). */
  intervalMs: number;
  /** Each pause is the previous one times this, up to maxIntervalMs (default 1: a fixed interval). */
  backoff?: number;
  maxIntervalMs?: number;
  /** An error for which this returns false ends the loop at once and is thrown. Default: every error is retried. */
  retryable?: (error: unknown) => boolean;
  signal?: AbortSignal;
}

export type RetryOutcome<T> = { ok: true; value: T } | { ok: false; lastError: unknown };

/** What an attempt is told: how long is left, so that a single attempt never runs past the deadline. */
export interface Attempt {
  readonly number: number;
  remainingMs(): number;
}

/**
 * Runs `attempt` until it returns a value other than undefined, or the time is up. Never throws for a retryable
 * error: the caller builds its own timeout error from `lastError`, which names what it waited for.
 */
export async function retryUntil<T>(attempt: (info: Attempt) => Promise<T | undefined>, options: RetryOptions): Promise<RetryOutcome<T>> {
  const deadline = Date.now() + options.timeoutMs;
  const info = { number: 0, remainingMs: () => Math.max(0, deadline - Date.now()) };
  let pause = options.intervalMs;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    info.number += 1;
    try {
      const value = await attempt(info);
      if (value !== undefined) return { ok: true, value };
    } catch (error) {
      if (options.retryable !== undefined && !options.retryable(error)) throw error;
      lastError = error;
    }
    const left = deadline - Date.now();
    if (left <= pause) return { ok: false, lastError };
    await sleep(pause, undefined, { signal: options.signal });
    pause = Math.min(pause * (options.backoff ?? 1), options.maxIntervalMs ?? Number.POSITIVE_INFINITY);
  }
}

/** `ms` clamped to [min, max]: the timeout of one attempt inside a larger budget. */
export function clampMs(ms: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, ms));
}
