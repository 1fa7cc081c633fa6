// The warm path (issue 14): restore of the design's 4-resource environment to SSH-ready from a snapshot, against
// a cold create of the same environment, each from a fresh `testenv-vm --mcp` process as Forge calls it, in one
// run, interleaved (who goes first alternates). Goal: restore to SSH-ready <= 3 s. SSH-ready is the caller's own
// first command on a new SSH connection after the call returned (the restore checks only that the guest's ports
// accept again); the call alone is reported too. With TESTENV_VM_BENCH_BASELINE_BIN=<other build>/dist/src/bin.js
// each round also restores through that build, for a before/after in the same run.
// Run inside the test host: `npm run build && scripts/testhost.sh exec -- node dist/bench/snapshot-restore.js [pairs]`
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { callFresh, describe, firstSshCommand, fourResourceSpec, seconds, sshTargetOf, timeEnvironment, tinyImage } from "./libvirt-common.js";
import { median } from "./stats.js";

const pairs = Math.max(7, Number(process.argv[2] ?? 7));
const baselineBin = process.env.TESTENV_VM_BENCH_BASELINE_BIN;
const loadAverage = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

interface RestoreTimes {
  /** Call start to the caller's first SSH command done. */
  ready: number[];
  /** The snapshot-restore call alone. */
  call: number[];
}

async function main(): Promise<void> {
  const image = tinyImage();
  const root = mkdtempSync("/var/tmp/testenv-vm-bench-warm-");
  chmodSync(root, 0o755);
  const env = { TESTENV_VM_STATE_DIR: process.env.TESTENV_VM_BENCH_STATE_DIR ?? "/var/tmp/testenv-vm-e2e-libvirt/state" };
  const testID = `test-bench-20260101-${randomBytes(4).toString("hex")}`;
  const loadBefore = loadAverage();
  const restores: RestoreTimes = { ready: [], call: [] };
  const baseline: RestoreTimes = { ready: [], call: [] };
  const creates: number[] = [];
  try {
    await callFresh(env, "create", { testID, stage: "bench", tmpDir: join(root, "tmp"), rootDir: root, metadata: {}, env: {}, spec: fourResourceSpec(image) });
    const saveStarted = performance.now();
    await callFresh(env, "snapshot-save", { testID, name: "warm" });
    process.stderr.write(`snapshot save: ${seconds(performance.now() - saveStarted)} s\n`);
    const target = sshTargetOf(env.TESTENV_VM_STATE_DIR, testID);
    const restore = async (times: RestoreTimes, bin?: string): Promise<number> => {
      const started = performance.now();
      await callFresh(env, "snapshot-restore", { testID, name: "warm" }, bin);
      times.call.push(performance.now() - started);
      await firstSshCommand(target);
      times.ready.push(performance.now() - started);
      return performance.now() - started;
    };
    const sides: Record<string, () => Promise<number>> = {
      restore: () => restore(restores),
      ...(baselineBin ? { "baseline restore": () => restore(baseline, baselineBin) } : {}),
      cold: async () => {
        const { createMs } = await timeEnvironment(fourResourceSpec(image));
        creates.push(createMs);
        return createMs;
      },
    };
    // Without a baseline, restore and cold alternate who goes first. With one, the restores are compared with each
    // other: each follows the cold create (whose delete leaves the host busy for a while) in every other round.
    const order = (pair: number): string[] =>
      baselineBin ? ["cold", ...(pair % 2 === 0 ? ["restore", "baseline restore"] : ["baseline restore", "restore"])] : pair % 2 === 0 ? ["restore", "cold"] : ["cold", "restore"];
    for (let pair = 0; pair < pairs; pair++) {
      for (const who of order(pair)) {
        process.stderr.write(`pair ${pair + 1}/${pairs} ${who}: ${seconds(await sides[who]!())} s\n`);
      }
    }
  } finally {
    await callFresh(env, "delete", { testID, metadata: {} }).catch((error: unknown) => process.stderr.write(`delete of ${testID} failed: ${String(error)}\n`));
    rmSync(root, { recursive: true, force: true });
  }
  const restoreMedian = median(restores.ready);
  const lines = [
    `restore to SSH-ready (fresh process): ${describe(restores.ready)}`,
    `  of which the snapshot-restore call:  ${describe(restores.call)}`,
    ...(baselineBin ? [`baseline restore to SSH-ready:        ${describe(baseline.ready)}`, `  of which the snapshot-restore call:  ${describe(baseline.call)}`] : []),
    `cold create to SSH-ready:             ${describe(creates)}`,
    `restore / create (median/median): ${(restoreMedian / median(creates)).toFixed(2)}x; goal restore <= 3 s: ${restoreMedian <= 3000 ? "met" : "NOT met"}`,
    `load average before ${loadBefore}, after ${loadAverage()}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n${JSON.stringify({ pairs, restores, baseline, creates })}\n`);
}

await main();
