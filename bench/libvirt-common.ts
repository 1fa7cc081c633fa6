// Shared by the libvirt benchmarks: the design's 4-resource environment on the libvirt provider, created and
// deleted through `testenv-vm --mcp` exactly as Forge does (a fresh orchestrator process for each), timed.
// Run inside the test host (scripts/testhost.sh exec -- node dist/bench/...): guests are reachable only there.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { sshExec, tcpOpen, type SshTarget } from "../providers/kit/index.js";
import { testImages } from "../test/helpers/images.js";
import { connectOrchestrator, textOf } from "../test/helpers/mcp.js";
import { spread } from "./stats.js";

const BIN = resolve(import.meta.dirname, "../src/bin.js");
const LONG_CALL = 900_000;

/** The tiny test image (scripts/images/build.sh tiny), symlink resolved. */
export function tinyImage(): string {
  const { dir, tiny } = testImages();
  if (!existsSync(tiny)) throw new Error(`no tiny image in ${dir}; run: bash scripts/images/build.sh tiny`);
  return tiny;
}

/** Key, bridge, libvirt network attached to the bridge (DHCP), and `vmCount` tiny VMs ready when SSH works. */
export function fourResourceSpec(baseImage: string, vmCount = 1): Record<string, unknown> {
  const vm = (name: string): Record<string, unknown> => ({
    name,
    spec: {
      memory: 256,
      vcpus: 1,
      network: "libvirt-net",
      disk: { baseImage, size: "1G" },
      cloudInit: { hostname: name, users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
      readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "10m" } },
    },
  });
  return {
    providers: [{ name: "libvirt", engine: "testenv-vm-provider-libvirt" }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "bridge", kind: "bridge", spec: { cidr: "192.168.100.1/24" } },
      {
        name: "libvirt-net",
        kind: "libvirt",
        spec: { attachTo: "bridge", forwardMode: "bridge", cidr: "192.168.100.1/24", dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.50" } },
      },
    ],
    vms: vmCount === 1 ? [vm("test-vm")] : Array.from({ length: vmCount }, (_, i) => vm(`test-vm-${i + 1}`)),
  };
}

/** Key, a NAT libvirt network with libvirt's own DHCP (libvirt makes its bridge), and one tiny VM ready when SSH works. */
export function natSpec(baseImage: string): Record<string, unknown> {
  const design = fourResourceSpec(baseImage);
  return {
    ...design,
    networks: [{ name: "libvirt-net", kind: "libvirt", spec: { forwardMode: "nat", cidr: "192.168.100.1/24", dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.50" } } }],
  };
}

/**
 * The guest's own time to SSH: its uptime (ms) when both sshd and its network were up, from the tiny image's
 * console lines `tiny-init: [<uptime>] ...`. Firmware and qemu's start come before uptime 0 and are not in it.
 */
export function guestFloorMs(consoleText: string): number | undefined {
  let latest: number | undefined;
  for (const match of consoleText.matchAll(/tiny-init: \[([0-9.]+)\] (?:sshd \(dropbear\) started|network up)/g)) {
    const ms = Number(match[1]) * 1000;
    latest = latest === undefined ? ms : Math.max(latest, ms);
  }
  return latest;
}

/** One tool call from a new orchestrator process: this build's, or the one at `bin` (another build, for a baseline). */
export async function callFresh(env: Record<string, string>, name: string, args: Record<string, unknown>, bin = BIN): Promise<void> {
  await using orchestrator = await connectOrchestrator({ bin, env: { TESTENV_VM_LOG: "error", ...env }, stderr: "inherit" });
  const result = await orchestrator.call(name, args, { timeoutMs: LONG_CALL });
  if (result.isError) throw new Error(`${name}: ${textOf(result) || "failed"}`);
}

export interface Timing {
  createMs: number;
  deleteMs: number;
  /** The guest's own time to SSH, read from its console (see guestFloorMs), when the console says. */
  floorMs?: number;
}

/** create (to SSH-ready) then delete, each from a new orchestrator process; wall times include process start. */
export async function timeEnvironment(spec: Record<string, unknown>, bin = BIN): Promise<Timing> {
  // 0755 under /var/tmp: libvirt-qemu must traverse to what the environment keeps here.
  const root = mkdtempSync("/var/tmp/testenv-vm-bench-");
  chmodSync(root, 0o755);
  const env = { TESTENV_VM_STATE_DIR: process.env.TESTENV_VM_BENCH_STATE_DIR ?? "/var/tmp/testenv-vm-e2e-libvirt/state" };
  const testID = `test-bench-20260101-${randomBytes(4).toString("hex")}`;
  try {
    const started = performance.now();
    try {
      await callFresh(env, "create", { testID, stage: "bench", tmpDir: join(root, "tmp"), rootDir: root, metadata: {}, env: {}, spec }, bin);
    } catch (error) {
      await callFresh(env, "delete", { testID, metadata: {} }, bin).catch(() => undefined);
      throw error;
    }
    const created = performance.now();
    const floorMs = guestFloorOf(env.TESTENV_VM_STATE_DIR, testID);
    const deleteStarted = performance.now();
    await callFresh(env, "delete", { testID, metadata: {} }, bin);
    return { createMs: created - started, deleteMs: performance.now() - deleteStarted, ...(floorMs !== undefined ? { floorMs } : {}) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

export function describe(values: readonly number[]): string {
  return spread(values, "s", seconds);
}

function stateOf(stateDir: string, testID: string): { resources: { [kind: string]: { [name: string]: { state: { [field: string]: unknown } } } } } {
  return JSON.parse(readFileSync(join(stateDir, "state", `testenv-${testID}.json`), "utf8")) as ReturnType<typeof stateOf>;
}

/** The guest floor of an environment's VM, from the console log its state names. */
function guestFloorOf(stateDir: string, testID: string, vm = "test-vm"): number | undefined {
  const consoleLog = stateOf(stateDir, testID).resources.vms?.[vm]?.state.consoleOutput;
  return typeof consoleLog === "string" && existsSync(consoleLog) ? guestFloorMs(readFileSync(consoleLog, "utf8")) : undefined;
}

/** The SSH target of an environment's VM as its state file records it (address, login user, private key). */
export function sshTargetOf(stateDir: string, testID: string, vm = "test-vm"): SshTarget {
  const state = stateOf(stateDir, testID);
  const address = state.resources.vms?.[vm]?.state.ip;
  const keyPath = state.resources.keys?.["vm-ssh"]?.state.privateKeyPath;
  if (typeof address !== "string" || typeof keyPath !== "string") throw new Error(`the state of ${testID} records no address for ${vm} or no vm-ssh key`);
  return { host: address, port: 22, user: "root", privateKey: readFileSync(keyPath, "utf8") };
}

/** The caller's first command on a new SSH connection: the port every 50 ms, then one command; how long it took. */
export async function firstSshCommand(target: SshTarget, timeoutMs = 120_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const ok = (await tcpOpen(target.host, target.port, 1000)) && (await sshExec(target, "echo ok", 10_000).then((result) => result.stdout.includes("ok"), () => false));
    if (ok) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`no SSH on ${target.host} after ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 50));
  }
}
