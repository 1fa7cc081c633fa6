// The design's 4-resource environment with a real VM: testenv-vm (create to SSH-ready, then delete, each from a
// fresh `testenv-vm --mcp` process) against bench/baseline/four-resource.sh doing the same steps by hand, in
// the same run, interleaved so both see the same host load. Goal: overhead ratio (median create) <= 1.10.
// Success criterion of the design: the environment is ready in under 120 s.
// Run inside the test host: `npm run build && scripts/testhost.sh exec -- node dist/bench/libvirt-four-resource.js [runs]`
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, fourResourceSpec, seconds, timeEnvironment, tinyImage, type Timing } from "./libvirt-common.js";
import { median } from "./stats.js";

const runs = Number(process.argv[2] ?? 5);
const BASELINE = resolve(import.meta.dirname, "../../bench/baseline/four-resource.sh");
// Outside the orchestrator's subnet octets (20-219) and the integration tests' (231, 232, 241).
const BASELINE_OCTET = 226;

function baseline(image: string, run: number): Timing {
  const out = execFileSync("bash", [BASELINE, image, String(BASELINE_OCTET), `bl${process.pid % 1000}r${run}`], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const match = /create_ms=(\d+) delete_ms=(\d+)/.exec(out);
  if (!match) throw new Error(`baseline printed no timings: ${out}`);
  return { createMs: Number(match[1]), deleteMs: Number(match[2]) };
}

async function main(): Promise<void> {
  const image = tinyImage();
  const ours: Timing[] = [];
  const theirs: Timing[] = [];
  for (let run = 0; run < runs; run++) {
    // Alternate who goes first so a load trend does not favour one side.
    const pair = run % 2 === 0 ? ["ours", "baseline"] : ["baseline", "ours"];
    for (const who of pair) {
      const timing = who === "ours" ? await timeEnvironment(fourResourceSpec(image)) : baseline(image, run);
      (who === "ours" ? ours : theirs).push(timing);
      process.stderr.write(`run ${run + 1}/${runs} ${who}: create ${seconds(timing.createMs)} s, delete ${seconds(timing.deleteMs)} s\n`);
    }
  }
  const create = (list: Timing[]) => list.map((t) => t.createMs);
  const remove = (list: Timing[]) => list.map((t) => t.deleteMs);
  const total = (list: Timing[]) => list.map((t) => t.createMs + t.deleteMs);
  const ratio = median(create(ours)) / median(create(theirs));
  const lines = [
    `testenv-vm create to SSH-ready: ${describe(create(ours))}`,
    `baseline   create to SSH-ready: ${describe(create(theirs))}`,
    `testenv-vm delete:              ${describe(remove(ours))}`,
    `baseline   delete:              ${describe(remove(theirs))}`,
    `create overhead ratio (median/median): ${ratio.toFixed(2)}x (goal <= 1.10x: ${ratio <= 1.1 ? "met" : "NOT met"})`,
    `create+delete ratio: ${(median(total(ours)) / median(total(theirs))).toFixed(2)}x`,
    `design success criterion, 4-resource environment ready in < 120 s: worst run ${seconds(Math.max(...create(ours)))} s (${Math.max(...create(ours)) < 120_000 ? "met" : "NOT met"})`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  process.stdout.write(`${JSON.stringify({ runs, ours, baseline: theirs })}\n`);
}

await main();
