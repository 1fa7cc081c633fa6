// How libvirt brings one saved VM back (issue 14, goal 2), the virsh and qemu-img steps alone, side by side and
// interleaved (who goes first rotates), each timed to the first SSH command that works afterwards:
//   save:      what the provider does today: destroy, `qemu-img snapshot -a`, `virsh restore --running`;
//   paused:    the same, restored `--paused` and then resumed;
//   internal:  a libvirt internal snapshot with memory, `virsh snapshot-revert --running` on the running domain;
//   save-128:  the first method on the same environment with a 128 MiB guest instead of 256 MiB;
//   graceful:  the first method with `destroy --graceful`; kill: qemu killed (SIGKILL) instead of `virsh destroy`, to
//              tell qemu's own exit from libvirt's clean-up;
//   unsafe:    the first method on a second 256 MiB guest that always runs with cache="unsafe" on its overlay
//              (`virsh restore --xml`), so qemu's exit flushes nothing.
// Before the pairs, one `snapshot-restore` from a fresh `testenv-vm --mcp` process is timed step by step (the
// provider's debug laps come on stderr with timestamps), then the client's first command on a new connection.
// Run inside the test host: `npm run build && node dist/bench/snapshot-methods.js [pairs]`
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import type { SshTarget } from "../providers/kit/index.js";
import { connectOrchestrator, textOf } from "../test/helpers/mcp.js";
import { callFresh, firstSshCommand, fourResourceSpec, seconds, sshTargetOf, tinyImage } from "./libvirt-common.js";
import { spread } from "./stats.js";

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, "../src/bin.js");
const pairs = Math.max(7, Number(process.argv[2] ?? 7));
const loadAverage = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const stamp = (what: string): void => void process.stderr.write(`${new Date().toISOString()} BENCH ${what}\n`);
const virsh = async (...args: string[]): Promise<string> => (await run("virsh", ["-q", "-c", "qemu:///system", ...args], { timeout: 600_000 })).stdout.trim();
const STATE_DIR = process.env.TESTENV_VM_BENCH_STATE_DIR ?? "/var/tmp/testenv-vm-e2e-libvirt/state";
const INTERNAL = "bench-internal";
/** TESTENV_VM_BENCH_METHODS=save,kill runs only those methods. */
const wanted = (method: string): boolean => process.env.TESTENV_VM_BENCH_METHODS?.split(",").includes(method) ?? true;

interface Guest {
  testID: string;
  root: string;
  domain: string;
  disk: string;
  memoryFile: string;
  target: SshTarget;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function createGuest(memory: number, octet: number): Promise<Guest> {
  const root = mkdtempSync("/var/tmp/testenv-vm-bench-methods-");
  chmodSync(root, 0o755);
  const testID = `test-bench-20260101-${randomBytes(4).toString("hex")}`;
  const spec = JSON.parse(JSON.stringify(fourResourceSpec(tinyImage())).replaceAll("192.168.100.", `192.168.${octet}.`)) as Json;
  spec.vms[0].spec.memory = memory;
  await callFresh({ TESTENV_VM_STATE_DIR: STATE_DIR }, "create", { testID, stage: "bench", tmpDir: join(root, "tmp"), rootDir: root, metadata: {}, env: {}, spec });
  await callFresh({ TESTENV_VM_STATE_DIR: STATE_DIR }, "snapshot-save", { testID, name: "warm" });
  const state = JSON.parse(readFileSync(join(STATE_DIR, "state", `testenv-${testID}.json`), "utf8")) as Json;
  const domain = (state.resources.vms["test-vm"] as Json).providerName as string;
  const blk = (await virsh("domblklist", domain, "--details")).split("\n").map((line) => line.trim().split(/\s+/)).find((cols) => cols[1] === "disk");
  const disk = blk?.[3] ?? "";
  const guest = { testID, root, domain, disk, memoryFile: join(disk, "..", "snapshots", "warm", "memory.save"), target: sshTargetOf(STATE_DIR, testID) };
  const parent = /^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${qemuPid(domain)}/status`, "utf8"))?.[1] ?? "?";
  const parentName = readFileSync(`/proc/${parent}/cmdline`, "utf8").split("\0").slice(0, 2).join(" ");
  stamp(`guest ${memory} MiB ready: ${guest.domain} ${guest.target.host}, memory file ${statSync(guest.memoryFile).size} bytes, qemu's parent ${parent} (${parentName})`);
  return guest;
}

async function removeGuest(guest: Guest): Promise<void> {
  await virsh("snapshot-delete", guest.domain, INTERNAL).catch(() => undefined);
  await callFresh({ TESTENV_VM_STATE_DIR: STATE_DIR }, "delete", { testID: guest.testID, metadata: {} }).catch((error: unknown) => process.stderr.write(`delete of ${guest.testID} failed: ${String(error)}\n`));
  rmSync(guest.root, { recursive: true, force: true });
}

type Steps = Record<string, number>;

async function timed(steps: Steps, step: string, work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await work();
  steps[step] = performance.now() - started;
}

const qemuPid = (domain: string): number => Number(readFileSync(`/run/libvirt/qemu/${domain}.pid`, "utf8").trim());
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls every 10 ms until the process is gone; its time since `started`. */
async function exitOf(pid: number, started: number): Promise<number> {
  while (alive(pid)) await new Promise((done) => setTimeout(done, 10));
  return performance.now() - started;
}

type Stop = "destroy" | "graceful" | "kill";

/** Stops the domain the given way; `qemu exit` is when its process was gone, the step's total when libvirt was done. */
async function stop(guest: Guest, how: Stop, steps: Steps): Promise<void> {
  const pid = qemuPid(guest.domain);
  const started = performance.now();
  const exited = exitOf(pid, started);
  if (how === "kill") {
    process.kill(pid, "SIGKILL");
    while ((await virsh("domstate", guest.domain)) !== "shut off") await new Promise((done) => setTimeout(done, 10));
  } else {
    await virsh("destroy", guest.domain, ...(how === "graceful" ? ["--graceful"] : []));
  }
  steps[`${how}`] = performance.now() - started;
  steps["qemu exit"] = await exited;
}

/** The save image's domain XML with cache="unsafe" on the qcow2 overlay, for `virsh restore --xml`. */
async function unsafeXml(guest: Guest): Promise<string> {
  const xml = (await virsh("save-image-dumpxml", guest.memoryFile, "--security-info")).replace(/<driver name='qemu' type='qcow2'/, "<driver name='qemu' type='qcow2' cache='unsafe'");
  const path = join(guest.root, "unsafe.xml");
  writeFileSync(path, xml);
  return path;
}

async function viaSave(guest: Guest, paused: boolean, how: Stop = "destroy", xml?: string): Promise<Steps> {
  const steps: Steps = {};
  await stop(guest, how, steps);
  await timed(steps, "qemu-img -a", () => run("qemu-img", ["snapshot", "-a", "testenv-warm", guest.disk]));
  const alternative = xml ? ["--xml", xml] : [];
  if (paused) {
    await timed(steps, "restore --paused", () => virsh("restore", guest.memoryFile, ...alternative, "--paused"));
    await timed(steps, "resume", () => virsh("resume", guest.domain));
  } else {
    await timed(steps, "restore --running", () => virsh("restore", guest.memoryFile, ...alternative, "--running"));
  }
  await timed(steps, "ssh", () => firstSshCommand(guest.target));
  return steps;
}

async function viaInternal(guest: Guest): Promise<Steps> {
  const steps: Steps = {};
  await timed(steps, "snapshot-revert", () => virsh("snapshot-revert", guest.domain, INTERNAL, "--running"));
  await timed(steps, "ssh", () => firstSshCommand(guest.target));
  return steps;
}

/** One `snapshot-restore` from a fresh orchestrator process, its phases stamped, then the client's first command. */
async function timeline(guest: Guest): Promise<void> {
  stamp("timeline: spawn orchestrator");
  const spawned = performance.now();
  await using orchestrator = await connectOrchestrator({ bin: BIN, env: { TESTENV_VM_LOG: "debug", TESTENV_VM_STATE_DIR: STATE_DIR }, stderr: "inherit" });
  const connected = performance.now();
  stamp(`timeline: MCP connected (${(connected - spawned).toFixed(0)} ms)`);
  const result = await orchestrator.call("snapshot-restore", { testID: guest.testID, name: "warm" }, { timeoutMs: 600_000 });
  if (result.isError) throw new Error(`snapshot-restore: ${textOf(result)}`);
  const answered = performance.now();
  stamp(`timeline: snapshot-restore answered (${(answered - connected).toFixed(0)} ms)`);
  await orchestrator.close();
  const closed = performance.now();
  stamp(`timeline: orchestrator closed (${(closed - answered).toFixed(0)} ms)`);
  const ssh = await firstSshCommand(guest.target);
  stamp(`timeline: first client command on a new connection (${ssh.toFixed(0)} ms); total ${(performance.now() - spawned).toFixed(0)} ms`);
  const state = JSON.parse(readFileSync(join(STATE_DIR, "state", `testenv-${guest.testID}.json`), "utf8")) as Json;
  const providerLog = readFileSync(join(state.artifactDir as string, "providers", "libvirt.log"), "utf8").split("\n");
  process.stderr.write(`--- provider log, last lines ---\n${providerLog.slice(-25).join("\n")}\n`);
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const guests: Guest[] = [];
  try {
    const big = await createGuest(256, 100);
    guests.push(big);
    if (wanted("internal")) await virsh("snapshot-create-as", big.domain, "--name", INTERNAL);
    const small = wanted("save-128")
      ? await createGuest(128, 101).catch((error: unknown) => {
          stamp(`no 128 MiB guest: ${String(error)}`);
          return undefined;
        })
      : undefined;
    if (small) guests.push(small);
    const second = wanted("unsafe") ? await createGuest(256, 102) : undefined;
    let unsafe: string | undefined;
    if (second) {
      guests.push(second);
      try {
        unsafe = await unsafeXml(second);
        await viaSave(second, false, "destroy", unsafe); // from now on its qemu runs with cache="unsafe"
        stamp(`unsafe guest: ${(await virsh("dumpxml", second.domain)).includes("cache='unsafe'") ? "cache=unsafe" : "cache NOT unsafe"}`);
      } catch (error) {
        stamp(`no unsafe guest: ${String(error)}`);
        unsafe = undefined;
      }
    }
    for (let i = 0; i < Number(process.env.TESTENV_VM_BENCH_TIMELINES ?? 2); i++) await timeline(big);

    const methods: Record<string, () => Promise<Steps>> = {
      save: () => viaSave(big, false),
      paused: () => viaSave(big, true),
      internal: () => viaInternal(big),
      ...(small ? { "save-128": () => viaSave(small, false) } : {}),
      graceful: () => viaSave(big, false, "graceful"),
      kill: () => viaSave(big, false, "kill"),
      ...(second && unsafe ? { unsafe: () => viaSave(second, false, "destroy", unsafe) } : {}),
    };
    const names = Object.keys(methods).filter(wanted);
    const results: Record<string, Steps[]> = Object.fromEntries(names.map((name) => [name, []]));
    for (let pair = 0; pair < pairs; pair++) {
      const order = names.map((_, i) => names[(i + pair) % names.length]!);
      for (const name of order) {
        const steps = await methods[name]!();
        results[name]!.push(steps);
        const total = Object.values(steps).reduce((a, b) => a + b, 0);
        stamp(`pair ${pair + 1}/${pairs} ${name}: ${seconds(total)} s ${JSON.stringify(Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Math.round(v)])))}`);
      }
    }
    const lines: string[] = [];
    for (const name of names) {
      const runs = results[name]!;
      const totals = runs.map((steps) => Object.values(steps).reduce((a, b) => a + b, 0));
      lines.push(`${name.padEnd(9)} to first SSH command: ${spread(totals, "s", seconds)}`);
      for (const step of Object.keys(runs[0] ?? {})) lines.push(`  ${step.padEnd(18)} ${spread(runs.map((steps) => steps[step] ?? 0), "ms", (v) => v.toFixed(0))}`);
    }
    lines.push(`load average before ${loadBefore}, after ${loadAverage()}`);
    process.stdout.write(`${lines.join("\n")}\n${JSON.stringify(results)}\n`);
  } finally {
    for (const guest of guests) await removeGuest(guest);
  }
}

await main();
