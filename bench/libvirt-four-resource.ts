// The design's 4-resource environment with a real VM: testenv-vm (create to SSH-ready, then delete, each from a
// fresh `testenv-vm --mcp` process) against a hand-written script doing the same steps, in the same run,
// interleaved so both see the same host load. Topologies:
//   design (default): key, bridge, libvirt network on the bridge + a dnsmasq (bench/baseline/four-resource.sh);
//   nat: key, a NAT libvirt network with libvirt's DHCP, one VM (bench/baseline/nat.sh, polling every 0.2 s).
// Goals (issue 14): create <= 1.10x on design, <= 0.85x on nat; delete <= 1.0x on both. Also reported: the guest's
// own time to SSH from its console (the floor), and create minus that floor on each side. With
// TESTENV_VM_BENCH_BASELINE_BIN=<other build>/dist/src/bin.js each round also runs that build ("before"), for a
// before/after of a change in the same interleaved run.
// Run inside the test host: `npm run build && scripts/testhost.sh exec -- node dist/bench/libvirt-four-resource.js [runs] [design|nat]`
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, fourResourceSpec, natSpec, seconds, timeEnvironment, tinyImage, type Timing } from "./libvirt-common.js";
import { median } from "./stats.js";

const TOPOLOGIES = {
  design: { script: "four-resource.sh", spec: fourResourceSpec, createGoal: 1.1 },
  nat: { script: "nat.sh", spec: natSpec, createGoal: 0.85 },
} as const;

const runs = Number(process.argv[2] ?? 5);
const topologyName = process.argv[3] ?? "design";
if (!(topologyName in TOPOLOGIES)) throw new Error(`topology: design or nat, got '${topologyName}'`);
const topology = TOPOLOGIES[topologyName as keyof typeof TOPOLOGIES];
const BASELINE = resolve(import.meta.dirname, "../../bench/baseline", topology.script);
// Outside the orchestrator's subnet octets (20-219) and the integration tests' (231, 232, 241).
const BASELINE_OCTET = 226;
const BEFORE_BIN = process.env.TESTENV_VM_BENCH_BASELINE_BIN;
const loadAverage = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

function baseline(image: string, run: number): Timing {
  const out = execFileSync("bash", [BASELINE, image, String(BASELINE_OCTET), `bl${process.pid % 1000}r${run}`], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const match = /create_ms=(\d+) delete_ms=(\d+) floor_ms=(\d*)/.exec(out);
  if (!match) throw new Error(`baseline printed no timings: ${out}`);
  return { createMs: Number(match[1]), deleteMs: Number(match[2]), ...(match[3] ? { floorMs: Number(match[3]) } : {}) };
}

function ratio(ours: readonly number[], theirs: readonly number[]): number {
  return median(ours) / median(theirs);
}

async function main(): Promise<void> {
  const image = tinyImage();
  const ours: Timing[] = [];
  const theirs: Timing[] = [];
  const before: Timing[] = [];
  const sides = BEFORE_BIN === undefined ? (["ours", "baseline"] as const) : (["ours", "baseline", "before"] as const);
  const loadBefore = loadAverage();
  for (let run = 0; run < runs; run++) {
    // Rotate who goes first so a load trend does not favour one side.
    const order = sides.map((_, index) => sides[(index + run) % sides.length] ?? "ours");
    for (const who of order) {
      const timing = who === "ours" ? await timeEnvironment(topology.spec(image)) : who === "before" ? await timeEnvironment(topology.spec(image), BEFORE_BIN) : baseline(image, run);
      (who === "ours" ? ours : who === "before" ? before : theirs).push(timing);
      process.stderr.write(`run ${run + 1}/${runs} ${who}: create ${seconds(timing.createMs)} s, delete ${seconds(timing.deleteMs)} s, guest floor ${timing.floorMs === undefined ? "?" : seconds(timing.floorMs)} s\n`);
    }
  }
  const create = (list: Timing[]) => list.map((t) => t.createMs);
  const remove = (list: Timing[]) => list.map((t) => t.deleteMs);
  const aboveFloor = (list: Timing[]) => list.flatMap((t) => (t.floorMs === undefined ? [] : [t.createMs - t.floorMs]));
  const createRatio = ratio(create(ours), create(theirs));
  const deleteRatio = ratio(remove(ours), remove(theirs));
  const floors = [...ours, ...theirs].flatMap((t) => (t.floorMs === undefined ? [] : [t.floorMs]));
  const lines = [
    `topology ${topologyName}, ${runs} interleaved pairs, load average before ${loadBefore}, after ${loadAverage()}`,
    `testenv-vm create to SSH-ready: ${describe(create(ours))}`,
    `baseline   create to SSH-ready: ${describe(create(theirs))}`,
    `testenv-vm delete:              ${describe(remove(ours))}`,
    `baseline   delete:              ${describe(remove(theirs))}`,
    ...(before.length > 0 ? [`before     create to SSH-ready: ${describe(create(before))}`, `before     delete:              ${describe(remove(before))}`, `before     create minus floor:  ${describe(aboveFloor(before))}`] : []),
    ...(floors.length > 0
      ? [
          `guest floor (its uptime at sshd + network up): ${describe(floors)}`,
          `testenv-vm create minus floor:  ${describe(aboveFloor(ours))}`,
          `baseline   create minus floor:  ${describe(aboveFloor(theirs))}`,
        ]
      : []),
    `create ratio (median/median): ${createRatio.toFixed(2)}x (goal <= ${topology.createGoal.toFixed(2)}x: ${createRatio <= topology.createGoal ? "met" : "NOT met"})`,
    `delete ratio (median/median): ${deleteRatio.toFixed(2)}x (goal <= 1.00x: ${deleteRatio <= 1 ? "met" : "NOT met"})`,
    ...(before.length > 0 ? [`before: create ratio ${ratio(create(before), create(theirs)).toFixed(2)}x, delete ratio ${ratio(remove(before), remove(theirs)).toFixed(2)}x`] : []),
    `design success criterion, ready in < 120 s: worst run ${seconds(Math.max(...create(ours)))} s (${Math.max(...create(ours)) < 120_000 ? "met" : "NOT met"})`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  process.stdout.write(`${JSON.stringify({ topology: topologyName, runs, ours, baseline: theirs, ...(before.length > 0 ? { before } : {}) })}\n`);
}

await main();
