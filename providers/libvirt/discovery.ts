import { existsSync, readdirSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import type { AvailabilityResponse, HealthResponse, HealthWarning } from "../../api/provider.js";
import { findInPath } from "../../lib/executable.js";
import type { Logger } from "../../lib/log.js";
import { run } from "../../lib/run.js";
import { probeKvm } from "./accel.js";
import type { ResolvedConfig } from "./config.js";
import { runVirsh, type LibvirtConnection } from "./connection.js";
import { hostEmulator } from "./host-arch.js";
import { readCapacity, remoteFreeBytes } from "./host-capacity.js";
import type { LibvirtHost } from "./host.js";

// What doctor asks of libvirt: availability from the file system alone, health from virsh, qemu and the KVM probe.

const DAEMON_TIMEOUT_MS = 5_000;
const VERSION_TIMEOUT_MS = 5_000;
const LOW_DISK_BYTES = 5 * 1024 ** 3;
/** Where distributions put the firmware descriptors libvirt picks OVMF (and its secure-boot variant) from. */
const FIRMWARE_DESCRIPTOR_DIRS = ["/usr/share/qemu/firmware", "/etc/qemu/firmware"];

interface ToolNeed {
  name: string;
  /** What it is for, and how to get it: the warning when it is missing. */
  missing: HealthWarning;
  /** Needed for anything at all (not just one feature). */
  essential: boolean;
}

function toolNeeds(): ToolNeed[] {
  const emulator = hostEmulator();
  return [
    { name: "virsh", essential: true, missing: { message: "virsh is missing: networks, leases and NVRAM clean-up need it", fix: "install libvirt-clients (Debian/Ubuntu) or libvirt-client (Fedora)" } },
    { name: emulator, essential: true, missing: { message: `${emulator} is missing: no guest can run on this host`, fix: "install qemu-system (Debian/Ubuntu: qemu-system-x86 or qemu-system-arm)" } },
    { name: "qemu-img", essential: true, missing: { message: "qemu-img is missing: VM disks cannot be made", fix: "install qemu-utils (Debian/Ubuntu) or qemu-img (Fedora)" } },
    { name: "xorriso", essential: false, missing: { message: "xorriso is missing: cloud-init seed ISOs cannot be built", fix: "install xorriso" } },
    { name: "dnsmasq", essential: false, missing: { message: "dnsmasq is missing: networks of kind dnsmasq (PXE) cannot be served", fix: "install dnsmasq-base" } },
    { name: "swtpm", essential: false, missing: { message: "swtpm is missing: VMs with boot.tpm cannot start", fix: "install swtpm swtpm-tools" } },
  ];
}

export function libvirtAvailability(env: NodeJS.ProcessEnv = process.env): AvailabilityResponse {
  const missing = toolNeeds().filter((need) => need.essential && findInPath(need.name, env) === undefined).map((need) => need.name);
  if (missing.length > 0) return { available: false, reason: `not found on PATH: ${missing.join(", ")}` };
  return { available: true, reason: `virsh, ${hostEmulator()} and qemu-img found on PATH` };
}

/** The nearest existing directory at or above `path`, whose file system the path would live on. */
function existingAncestor(path: string): string {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const stats = await statfs(existingAncestor(path));
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

async function firstLine(command: string, args: readonly string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run(command, args, { timeoutMs: VERSION_TIMEOUT_MS });
    return stdout.split("\n")[0]?.trim();
  } catch {
    return undefined;
  }
}

interface DaemonAnswer {
  reachable: boolean;
  detail: string;
  versions: Record<string, string>;
}

async function askDaemon(connection: LibvirtConnection): Promise<DaemonAnswer> {
  const uri = connection.uri;
  try {
    const { stdout } = await runVirsh(connection, ["version"], { timeoutMs: DAEMON_TIMEOUT_MS, killSignal: "SIGKILL" });
    const versions: Record<string, string> = {};
    for (const [label, key] of [["Using library: libvirt", "libvirt"], ["Running hypervisor: QEMU", "qemu"], ["Running against daemon:", "libvirtd"]] as const) {
      const match = new RegExp(`${label}\\s*([\\w.]+)`).exec(stdout);
      if (match?.[1] !== undefined) versions[key] = match[1];
    }
    return { reachable: true, detail: `connected to ${uri}`, versions };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { reachable: false, detail: text.split("\n").filter((line) => line.trim() !== "").slice(-2).join(" "), versions: {} };
  }
}

async function countRunning(connection: LibvirtConnection): Promise<Record<string, number>> {
  const names = async (args: string[]): Promise<number | undefined> => {
    try {
      const { stdout } = await runVirsh(connection, args, { timeoutMs: DAEMON_TIMEOUT_MS, killSignal: "SIGKILL" });
      return stdout.split("\n").filter((line) => line.trim() !== "").length;
    } catch {
      return undefined;
    }
  };
  const [vms, networks] = await Promise.all([names(["list", "--name"]), names(["net-list", "--name"])]);
  return { ...(vms !== undefined ? { vms } : {}), ...(networks !== undefined ? { networks } : {}) };
}

function firmwareDescriptors(): string[] {
  return FIRMWARE_DESCRIPTOR_DIRS.flatMap((dir) => {
    try {
      return readdirSync(dir).filter((name) => name.endsWith(".json"));
    } catch {
      return [];
    }
  });
}

export async function libvirtHealth(config: ResolvedConfig, connection: LibvirtConnection, log: Logger, host?: LibvirtHost): Promise<HealthResponse> {
  const warnings: HealthWarning[] = [];
  const tools = toolNeeds().map((need) => {
    const path = findInPath(need.name);
    if (path === undefined) warnings.push(need.missing);
    return { need, entry: { name: need.name, present: path !== undefined, ...(path !== undefined ? { path } : {}) } };
  });
  const has = (name: string): boolean => tools.some((tool) => tool.need.name === name && tool.entry.present);
  const [daemon, running, emulatorVersion, free, probe, capacity] = await Promise.all([
    has("virsh") ? askDaemon(connection) : Promise.resolve<DaemonAnswer>({ reachable: false, detail: "virsh is missing", versions: {} }),
    has("virsh") ? countRunning(connection) : Promise.resolve({}),
    has(hostEmulator()) ? firstLine(hostEmulator(), ["--version"]) : Promise.resolve(undefined),
    host?.remote === true ? remoteFreeBytes(host, config.dataDir) : freeBytes(config.dataDir),
    config.accelerator === "auto" && has(hostEmulator()) ? probeKvm(log) : Promise.resolve(undefined),
    has("virsh") ? readCapacity(connection) : Promise.resolve(undefined),
  ]);
  if (!daemon.reachable) {
    warnings.push({
      message: `libvirt at ${config.uri} is not reachable: ${daemon.detail}`,
      fix: `start libvirtd (sudo systemctl start libvirtd), join the libvirt group (sudo usermod -aG libvirt $USER, then log in again), or point ${"TESTENV_VM_LIBVIRT_URI"} / providers[].spec.uri at a reachable URI`,
    });
  }
  const accelerator =
    config.accelerator !== "auto"
      ? { kind: config.accelerator, reason: `configured (accelerator: ${config.accelerator})` }
      : probe === undefined
        ? { kind: "tcg" as const, reason: `${hostEmulator()} is missing, so KVM cannot be probed` }
        : { kind: probe.kvm ? ("kvm" as const) : ("tcg" as const), reason: probe.reason };
  if (accelerator.kind === "tcg" && config.accelerator === "auto") {
    warnings.push({ message: `guests run under TCG (no KVM): ${accelerator.reason}; they boot several times slower`, fix: "enable virtualisation in the firmware, load kvm_intel/kvm_amd and give your user access to /dev/kvm (the kvm group)" });
  }
  if (firmwareDescriptors().length === 0) {
    warnings.push({ message: "no QEMU firmware descriptors found: VMs with boot.firmware uefi cannot be defined", fix: "install ovmf (Debian/Ubuntu) or edk2-ovmf (Fedora)" });
  }
  if (free !== undefined && free < LOW_DISK_BYTES) {
    warnings.push({ message: `only ${(free / 1024 ** 3).toFixed(1)} GiB free for ${config.dataDir}`, fix: "free some space or set providers[].spec.dataDir to a larger file system" });
  }
  const versions = { ...daemon.versions, ...(emulatorVersion !== undefined ? { [hostEmulator()]: emulatorVersion.replace(/^QEMU emulator version\s*/, "") } : {}) };
  return {
    healthy: daemon.reachable && tools.every((tool) => !tool.need.essential || tool.entry.present),
    versions,
    daemon: { name: "libvirtd", reachable: daemon.reachable, detail: daemon.detail },
    accelerator,
    tools: tools.map((tool) => tool.entry),
    disks: free === undefined ? [] : [{ path: config.dataDir, freeBytes: free }],
    running,
    ...(capacity !== undefined ? { capacity } : {}),
    warnings,
  };
}
