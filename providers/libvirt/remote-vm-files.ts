import { rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isResourceName } from "../kit/index.js";
import type { LibvirtBackend } from "./backend.js";
import { LOCAL_HOST, type HostDirEntry, type LibvirtHost } from "./host.js";
import { logicalVmName } from "./names.js";
import { release } from "./vm/fixed-ip.js";

// The VM files of a data dir on a remote libvirt host, as gc sees them. They sit on that host at the data dir's own
// path (<dir>/vms/<vm>: overlay, seed ISO, NVRAM, snapshots; <dir>/console/<vm>.console), while this machine keeps
// a VM's DHCP reservations record in <dir>/vms/<vm> here. Only entries named as the provider names them are ours:
// a symlink, a special file or any other name is never listed, so never removed.

/** What a live domain still uses: its files stay, as on the local host. */
export interface LiveVmFiles {
  vmDirs: ReadonlySet<string>;
  consoleLogs: ReadonlySet<string>;
}

/** One VM's files whose domain is gone, on the host and here. */
export interface OrphanVmFiles {
  /** <dir>/vms/<vm>, the same path on both machines. */
  vmDir: string;
  /** The VM dir is on the host. */
  onHost: boolean;
  /** Its console log on the host, when there is one. */
  consoleLog: string | undefined;
  /** The VM dir is here too (its DHCP reservations record). */
  here: boolean;
  madeAt: string | undefined;
}

export interface StrayConsoleLog {
  path: string;
  madeAt: string | undefined;
}

export interface RemoteFilesOfDataDir {
  vms: OrphanVmFiles[];
  /** Console logs on the host that belong to no VM dir listed and to no live domain. */
  consoleLogs: StrayConsoleLog[];
}

const CONSOLE_SUFFIX = ".console";

function ourVmDirs(entries: readonly HostDirEntry[]): Map<string, HostDirEntry> {
  return new Map(entries.filter((entry) => entry.type === "dir" && isResourceName(entry.name)).map((entry) => [entry.name, entry]));
}

function ourConsoleLogs(entries: readonly HostDirEntry[]): HostDirEntry[] {
  return entries.filter((entry) => entry.type === "file" && entry.name.endsWith(CONSOLE_SUFFIX) && isResourceName(entry.name.slice(0, -CONSOLE_SUFFIX.length)));
}

/**
 * One inventory's look at the host: each folder that holds data dirs is listed once, so a data dir here whose twin
 * is not there (most of them: environments of this machine's own libvirt) costs no command at all.
 */
export class HostDataDirs {
  private readonly listings = new Map<string, Promise<HostDirEntry[]>>();

  constructor(readonly host: LibvirtHost) {}

  async has(dir: string): Promise<boolean> {
    const parent = dirname(dir);
    let listing = this.listings.get(parent);
    if (listing === undefined) {
      listing = this.host.list(parent);
      this.listings.set(parent, listing);
    }
    return (await listing).some((entry) => entry.type === "dir" && entry.name === basename(dir));
  }
}

/**
 * The orphaned VM files of data dir `dir` (its environment's prefix names the console logs): two listings on the
 * host when the dir is there, one here.
 */
export async function remoteFilesOf(onHost: HostDataDirs, dir: string, prefix: string | undefined, live: LiveVmFiles): Promise<RemoteFilesOfDataDir> {
  const { host } = onHost;
  const there = await onHost.has(dir);
  const vmDirsThere = there ? ourVmDirs(await host.list(join(dir, "vms"))) : new Map<string, HostDirEntry>();
  const here = ourVmDirs(await LOCAL_HOST.list(join(dir, "vms")));
  const consoleDir = join(dir, "console");
  const consoles = new Map((there ? ourConsoleLogs(await host.list(consoleDir)) : []).map((entry) => [join(consoleDir, entry.name), entry]));
  const vms: OrphanVmFiles[] = [];
  for (const name of [...new Set([...vmDirsThere.keys(), ...here.keys()])].sort()) {
    const vmDir = join(dir, "vms", name);
    if (live.vmDirs.has(vmDir)) continue; // its domain's removal takes them
    const consoleLog = join(consoleDir, `${logicalVmName(name, prefix)}${CONSOLE_SUFFIX}`);
    const hasConsole = consoles.has(consoleLog) && !live.consoleLogs.has(consoleLog);
    if (hasConsole) consoles.delete(consoleLog);
    vms.push({ vmDir, onHost: vmDirsThere.has(name), consoleLog: hasConsole ? consoleLog : undefined, here: here.has(name), madeAt: (vmDirsThere.get(name) ?? here.get(name))?.madeAt });
  }
  const consoleLogs = [...consoles].filter(([path]) => !live.consoleLogs.has(path)).map(([path, entry]) => ({ path, madeAt: entry.madeAt }));
  return { vms, consoleLogs };
}

/** In words, for gc's list. */
export function orphanVmFilesDetail(host: LibvirtHost, files: OrphanVmFiles): string {
  const parts: string[] = [];
  if (files.onHost) parts.push(`VM files on ${host.name} (overlay, seed ISO, NVRAM, snapshots)`);
  if (files.consoleLog !== undefined) parts.push(`${files.onHost ? "its " : ""}console log ${files.consoleLog}${files.onHost ? " there" : ` on ${host.name}`}`);
  if (files.here) parts.push(`${parts.length > 0 ? "its " : ""}DHCP reservations record here`);
  return `${parts.join(", ")}, whose domain is gone`;
}

/** As a VM delete does: its DHCP reservations (recorded here) first, then the files on the host, then the dir here. */
export async function removeOrphanVmFiles(host: LibvirtHost, backend: LibvirtBackend, files: OrphanVmFiles): Promise<void> {
  await release(backend, files.vmDir);
  if (files.consoleLog !== undefined) await host.remove(files.consoleLog);
  if (files.onHost) await host.remove(files.vmDir, { recursive: true });
  if (files.here) await rm(files.vmDir, { recursive: true, force: true });
}

/** What of ours the host still keeps under data dir `dir`, live or not, in words (the data dir waits for it). */
export async function remoteLeftovers(host: LibvirtHost, dir: string): Promise<string[]> {
  const vmDirs = [...ourVmDirs(await host.list(join(dir, "vms"))).keys()].map((name) => `VM files ${name} on ${host.name}`);
  const consoleLogs = ourConsoleLogs(await host.list(join(dir, "console"))).map((entry) => `console log ${entry.name} on ${host.name}`);
  return [...vmDirs, ...consoleLogs];
}

/**
 * removeIfNoFiles on the host: the empty folders under data dir `dir`, and the dir itself when `removeRoot` (the
 * per-environment one). Anything holding a file stays (another provider at work, or not ours).
 */
export async function removeEmptyRemoteDirs(host: LibvirtHost, dir: string, removeRoot: boolean): Promise<void> {
  await host.run("find", [dir, "-depth", ...(removeRoot ? [] : ["-mindepth", "1"]), "-type", "d", "-empty", "-delete"], { timeoutMs: 30_000 }).catch(() => undefined);
}
