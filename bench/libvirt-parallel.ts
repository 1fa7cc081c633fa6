// 3 VMs in one phase against 1 VM: how much of the per-VM time overlaps. The 3-VM environment is the
// 4-resource one with three tiny VMs on the same network, all in the VM phase (created in parallel).
// Ratio 1.0 = perfect overlap; 3.0 = serial. On this 2-core TCG host three guests compete for the CPU.
// Run inside the test host: `npm run build && scripts/testhost.sh exec -- node dist/bench/libvirt-parallel.js [runs]`
import { describe, fourResourceSpec, seconds, timeEnvironment, tinyImage } from "./libvirt-common.js";
import { median } from "./stats.js";

const runs = Number(process.argv[2] ?? 3);

async function main(): Promise<void> {
  const image = tinyImage();
  const one: number[] = [];
  const three: number[] = [];
  for (let run = 0; run < runs; run++) {
    for (const count of run % 2 === 0 ? [1, 3] : [3, 1]) {
      const timing = await timeEnvironment(fourResourceSpec(image, count));
      (count === 1 ? one : three).push(timing.createMs);
      process.stderr.write(`run ${run + 1}/${runs}: ${count} VM(s) create ${seconds(timing.createMs)} s, delete ${seconds(timing.deleteMs)} s\n`);
    }
  }
  process.stdout.write(
    [
      `1 VM  create to SSH-ready: ${describe(one)}`,
      `3 VMs create to SSH-ready: ${describe(three)}`,
      `wall-time ratio 3 VMs / 1 VM (medians): ${(median(three) / median(one)).toFixed(2)}x`,
    ].join("\n") + "\n",
  );
}

await main();
