// The project-folder verbs against the same steps by hand: `testenv-vm up | ssh | stop | start | rm`, each a fresh
// CLI process in a folder with nothing but a .env, against bench/baseline/project-by-hand.sh (key, overlay, seed,
// virsh define/start, lease and ssh polled every 0.2 s, virsh shutdown/start, teardown), on one existing NAT
// libvirt network standing in for the user's `default`. Interleaved pairs, medians.
// Run inside the test host: `npm run build && scripts/testhost.sh exec -- node dist/bench/project-folder.js [runs]`
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { seconds, tinyImage } from "./libvirt-common.js";
import { median } from "./stats.js";

const runs = Number(process.argv[2] ?? 7);
const BIN = resolve(import.meta.dirname, "../src/bin.js");
const BASELINE = resolve(import.meta.dirname, "../../bench/baseline/project-by-hand.sh");
const NETWORK = `tvmbench-default-${process.pid}`;
// Outside the orchestrator's subnet octets (20-219) and every test's.
const OCTET = 249;
const STEPS = ["up", "ssh", "stop", "start", "rm"] as const;
type Step = (typeof STEPS)[number];
type Timings = Record<Step, number>;

const virsh = (...args: string[]) => execFileSync("virsh", ["-q", "-c", "qemu:///system", ...args], { encoding: "utf8" });

function defineNetwork(): string {
  const dir = mkdtempSync("/var/tmp/testenv-vm-bench-net-");
  const xml = join(dir, "net.xml");
  writeFileSync(xml, `<network><name>${NETWORK}</name><forward mode="nat"/><ip address="192.168.${OCTET}.1" netmask="255.255.255.0"><dhcp><range start="192.168.${OCTET}.10" end="192.168.${OCTET}.99"/></dhcp></ip></network>`);
  virsh("net-define", xml);
  virsh("net-start", NETWORK);
  return dir;
}

function removeNetwork(): void {
  for (const args of [["net-destroy", NETWORK], ["net-undefine", NETWORK]]) {
    try {
      virsh(...args);
    } catch {
      // already gone
    }
  }
}

function verb(folder: string, name: string, ...rest: string[]): number {
  const started = performance.now();
  execFileSync("node", [BIN, name, "--dir", folder, ...rest], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, TESTENV_VM_LOG: "warn" } });
  return performance.now() - started;
}

function ours(image: string, run: number): Timings {
  const parent = mkdtempSync("/var/tmp/testenv-vm-bench-project-");
  chmodSync(parent, 0o755);
  const folder = join(parent, `bench${run}`);
  mkdirSync(folder, { mode: 0o755 });
  writeFileSync(join(folder, ".env"), `INFRA_TYPE=vm\nMEMORY=256\nCPUS=1\nDISK=1\nNETWORK=${NETWORK}\nIMAGE=${image}\nSSH_USER=root\n`);
  try {
    return {
      up: verb(folder, "up"),
      ssh: verb(folder, "ssh", "--", "true"),
      stop: verb(folder, "stop"),
      start: verb(folder, "start"),
      rm: verb(folder, "rm"),
    };
  } catch (error) {
    try {
      verb(folder, "rm");
    } catch {
      // report the first failure
    }
    throw error;
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

function byHand(image: string, run: number): Timings {
  const out = execFileSync("bash", [BASELINE, image, NETWORK, `byhand${process.pid % 1000}r${run}`], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const value = (step: Step) => Number(new RegExp(`${step}_ms=(\\d+)`).exec(out)?.[1] ?? Number.NaN);
  const timings = Object.fromEntries(STEPS.map((step) => [step, value(step)])) as Timings;
  if (STEPS.some((step) => Number.isNaN(timings[step]))) throw new Error(`the by-hand script printed no timings: ${out}`);
  return timings;
}

function main(): void {
  const image = tinyImage();
  const netDir = defineNetwork();
  const mine: Timings[] = [];
  const theirs: Timings[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      // Alternate who goes first so a load trend does not favour one side.
      for (const who of run % 2 === 0 ? ["ours", "by hand"] : ["by hand", "ours"]) {
        const timing = who === "ours" ? ours(image, run) : byHand(image, run);
        (who === "ours" ? mine : theirs).push(timing);
        process.stderr.write(`run ${run + 1}/${runs} ${who}: ${STEPS.map((step) => `${step} ${seconds(timing[step])} s`).join(", ")}\n`);
      }
    }
  } finally {
    removeNetwork();
    rmSync(netDir, { recursive: true, force: true });
  }
  const lines = [`step    testenv-vm  by hand   ratio   (medians of ${runs} interleaved pairs, seconds)`];
  for (const step of STEPS) {
    const a = median(mine.map((t) => t[step]));
    const b = median(theirs.map((t) => t[step]));
    lines.push(`${step.padEnd(7)} ${seconds(a).padStart(10)}  ${seconds(b).padStart(7)}   ${(a / b).toFixed(2)}x`);
  }
  process.stdout.write(`${lines.join("\n")}\n${JSON.stringify({ runs, ours: mine, byHand: theirs })}\n`);
}

main();
