export interface ImageProgress {
  image: string;
  bytes: number;
  total?: number;
  /** Average rate of this download since it started (resumed bytes excluded). */
  bytesPerSecond: number;
}

const DEFAULT_INTERVAL_MS = 250;

/**
 * Turns per-chunk byte counts into at most one report per interval (plus the final one), so a TTY line
 * or an MCP progress notification is not emitted thousands of times a second.
 */
export function throttledProgress(
  image: string,
  report: (progress: ImageProgress) => void,
  intervalMs = DEFAULT_INTERVAL_MS,
): (bytes: number, total: number | undefined) => void {
  const started = Date.now();
  let firstBytes: number | undefined;
  let lastReport = -Infinity;
  return (bytes, total) => {
    firstBytes ??= bytes;
    const now = Date.now();
    const done = total !== undefined && bytes >= total;
    if (!done && now - lastReport < intervalMs) return;
    lastReport = now;
    const seconds = Math.max((now - started) / 1000, 0.001);
    report({ image, bytes, ...(total === undefined ? {} : { total }), bytesPerSecond: Math.round((bytes - firstBytes) / seconds) });
  };
}
