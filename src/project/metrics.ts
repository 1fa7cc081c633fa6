import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";

// Every verb appends one JSON line to .testenv-vm/metrics.jsonl: what ran, when, how long each step took, and
// how it ended. `testenv-vm metrics` summarises the file.

export interface MetricRecord {
  verb: string;
  instance: string;
  startedAt: string;
  durationMs: number;
  outcome: "ok" | "failed" | "interrupted" | "noop";
  steps: Record<string, number>;
  error?: string;
}

export class StepTimer {
  readonly startedAt = new Date();
  readonly steps: Record<string, number> = {};
  private readonly origin = performance.now();

  /** Runs `work` and records how long it took under `step`. */
  async time<T>(step: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.steps[step] = Math.round(performance.now() - start);
    }
  }

  elapsedMs(): number {
    return Math.round(performance.now() - this.origin);
  }
}

export async function appendMetric(path: string, record: MetricRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // One short line per append: O_APPEND writes of this size do not interleave between processes.
  await appendFile(path, `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

export async function readMetrics(path: string): Promise<MetricRecord[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const records: MetricRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      records.push(JSON.parse(line) as MetricRecord);
    } catch {
      // A torn last line (a killed process) is skipped; the others still count.
    }
  }
  return records;
}

export interface MetricSummaryRow {
  verb: string;
  runs: number;
  failed: number;
  medianMs: number;
  lastMs: number;
  steps: Record<string, number>;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : Math.round(((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2);
};

/** One row per verb: how often it ran, how often it failed, its median and last duration, median step times. */
export function summarizeMetrics(records: readonly MetricRecord[]): MetricSummaryRow[] {
  const byVerb = new Map<string, MetricRecord[]>();
  for (const record of records) byVerb.set(record.verb, [...(byVerb.get(record.verb) ?? []), record]);
  return [...byVerb.entries()].map(([verb, runs]) => {
    const stepNames = [...new Set(runs.flatMap((run) => Object.keys(run.steps)))];
    return {
      verb,
      runs: runs.length,
      failed: runs.filter((run) => run.outcome === "failed" || run.outcome === "interrupted").length,
      medianMs: median(runs.map((run) => run.durationMs)),
      lastMs: runs.at(-1)?.durationMs ?? 0,
      steps: Object.fromEntries(stepNames.map((step) => [step, median(runs.flatMap((run) => (run.steps[step] === undefined ? [] : [run.steps[step]])))])),
    };
  });
}
