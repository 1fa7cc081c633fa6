import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { retryUntil } from "../../lib/retry.js";

// After an environment is deleted nothing that carries its prefix may remain: libvirt domains and networks,
// links (bridges, and anything enslaved to them), processes (dnsmasq, qemu, swtpm), and files (overlays, seed
// ISOs, NVRAM, console logs, keys). The host is inspected directly, never through testenv-vm's own records,
// so the check also catches what testenv-vm forgot it made.

const LIBVIRT_URI = "qemu:///system";

/**
 * Directories where libvirt keeps per-domain/per-network files named after the resource. Not /run/libvirt/network:
 * libvirt itself leaves `<net>.pid` there after net-destroy of a NAT network whose dnsmasq ran as nobody (the
 * hand-written baseline does the same); it is libvirt's runtime state, gone at reboot, and holds no live process.
 */
const LIBVIRT_FILE_DIRS = ["/var/lib/libvirt/qemu/nvram", "/var/lib/libvirt/dnsmasq", "/run/libvirt/qemu"];

export interface LeakScope {
  /** The environment's name prefix (TESTENV_VM_NAME_PREFIX). */
  prefix: string;
  /** Console logs, keys, provider logs: must be gone (or empty) after delete. */
  artifactDir?: string;
  /** Key output dirs outside the artifact dir. */
  keyDirs?: readonly string[];
  /** The libvirt provider's data dir (overlays, seed ISOs, NVRAM, dnsmasq files, records). */
  dataDir?: string;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 30_000 });
  } catch {
    return "";
  }
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/** True when `text` contains the prefix as a whole token (a 6-hex prefix inside a longer hex string is someone else's). */
export function carriesPrefix(text: string, prefix: string): boolean {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^0-9A-Za-z])${escaped}($|[^0-9A-Za-z])`).test(text) || new RegExp(`(^|[^0-9A-Za-z])${escaped}-`).test(text);
}

export function libvirtDomains(): string[] {
  return lines(run("virsh", ["-q", "-c", LIBVIRT_URI, "list", "--all", "--name"]));
}

export function libvirtNetworks(): string[] {
  return lines(run("virsh", ["-q", "-c", LIBVIRT_URI, "net-list", "--all", "--name"]));
}

interface Link {
  ifname: string;
  master?: string;
}

/** Links of the current network namespace (run inside the test host's). */
export function links(): Link[] {
  const text = run("ip", ["-j", "link", "show"]);
  return text === "" ? [] : (JSON.parse(text) as Link[]);
}

/** Live (non-zombie) processes whose command line carries the prefix, except this one. */
export function processesCarrying(prefix: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      if (cmdline === "" || !carriesPrefix(cmdline, prefix)) continue;
      if (/\) Z /.test(readFileSync(`/proc/${entry}/stat`, "utf8"))) continue;
      found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Regular files (and symlinks) under a directory, recursively; [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name));
}

/**
 * Everything on this host that carries the environment's prefix, one line per leak ("domain x", "file y", ...).
 * Empty means the environment left nothing behind.
 */
export function findLeaks(scope: LeakScope): string[] {
  const { prefix } = scope;
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(prefix)) throw new Error(`findLeaks: prefix "${prefix}" is empty or not a name prefix`);
  const found: string[] = [];
  for (const name of libvirtDomains()) if (carriesPrefix(name, prefix)) found.push(`domain ${name}`);
  for (const name of libvirtNetworks()) if (carriesPrefix(name, prefix)) found.push(`network ${name}`);
  const linkList = links();
  for (const link of linkList) {
    if (carriesPrefix(link.ifname, prefix)) found.push(`link ${link.ifname}`);
    else if (link.master !== undefined && carriesPrefix(link.master, prefix)) found.push(`link ${link.ifname} (on bridge ${link.master})`);
  }
  for (const { pid, cmdline } of processesCarrying(prefix)) found.push(`process ${pid}: ${cmdline.slice(0, 200)}`);
  for (const dir of LIBVIRT_FILE_DIRS) {
    for (const file of filesUnder(dir)) if (carriesPrefix(file.slice(dir.length), prefix)) found.push(`file ${file}`);
  }
  const ownDirs = [scope.artifactDir, scope.dataDir, ...(scope.keyDirs ?? [])].filter((dir): dir is string => dir !== undefined);
  for (const dir of ownDirs) for (const file of filesUnder(dir)) found.push(`file ${file}`);
  // A per-environment data dir named after the prefix is a leak even when empty.
  if (scope.dataDir !== undefined && basename(scope.dataDir) === prefix && existsSync(scope.dataDir)) found.push(`dir ${scope.dataDir}`);
  return [...new Set(found)];
}

/** Polls findLeaks until it is empty (teardown of qemu/dnsmasq can lag a moment behind libvirt's answer). */
export async function waitForNoLeaks(scope: LeakScope, timeoutMs = 10_000): Promise<string[]> {
  let leaks: string[] = [];
  await retryUntil(
    () => {
      leaks = findLeaks(scope);
      return Promise.resolve(leaks.length === 0 ? true : undefined);
    },
    { timeoutMs, intervalMs: 250 },
  );
  return leaks;
}
