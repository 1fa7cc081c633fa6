import { randomBytes } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

import { sha256File } from "../src/image/hash.js";

// sha256 verification throughput of the image cache (goal >= 1 GB/s), on a 1 GiB file.
// Run from the build: `node dist/bench/image-verify.js [MiB]`. The file is hashed once to warm the page
// cache, then timed: the figure is the hashing path itself, not the disk.

export interface VerifyBenchResult {
  bytes: number;
  /** Wall-clock seconds of each timed run. */
  runs: number[];
  bestGBps: number;
  medianGBps: number;
  /** Bytes per CPU second (user + system) of the best run: the rate on an idle core of this machine. */
  cpuGBps: number;
  /** 1-minute load average when the bench ran; wall-clock figures mean little on a busy host. */
  loadAverage: number;
}

export async function benchImageVerify(mebibytes = 1024, runs = 3): Promise<VerifyBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "testenv-bench-verify-"));
  const path = join(dir, "image.bin");
  try {
    const block = randomBytes(4 * 1024 * 1024);
    const file = await open(path, "w");
    try {
      for (let written = 0; written < mebibytes * 1024 * 1024; written += block.length) await file.write(block);
    } finally {
      await file.close();
    }
    const { size } = await sha256File(path);
    const seconds: number[] = [];
    let cpuSeconds = Infinity;
    for (let i = 0; i < runs; i++) {
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      await sha256File(path);
      const used = process.cpuUsage(cpu);
      seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
      cpuSeconds = Math.min(cpuSeconds, (used.user + used.system) / 1e6);
    }
    const rates = seconds.map((s) => size / s / 1e9).sort((a, b) => a - b);
    return {
      bytes: size,
      runs: seconds,
      bestGBps: rates.at(-1) ?? 0,
      medianGBps: rates[Math.floor(rates.length / 2)] ?? 0,
      cpuGBps: size / cpuSeconds / 1e9,
      loadAverage: loadavg()[0] ?? 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const mebibytes = Number(process.argv[2] ?? 1024);
  const result = await benchImageVerify(mebibytes);
  const runs = result.runs.map((s) => `${s.toFixed(3)} s`).join(", ");
  process.stdout.write(
    `image-verify: sha256 of ${(result.bytes / 2 ** 30).toFixed(2)} GiB: median ${result.medianGBps.toFixed(2)} GB/s, ` +
      `best ${result.bestGBps.toFixed(2)} GB/s, per CPU second ${result.cpuGBps.toFixed(2)} GB/s ` +
      `(runs: ${runs}; load average ${result.loadAverage.toFixed(1)} on ${availableParallelism()} CPUs; goal >= 1 GB/s)\n`,
  );
}
