import { readdir, readFile, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { OwnedObject, ReclaimRequest } from "../../api/provider.js";
import type { Logger } from "../../lib/log.js";
import { readIdentity, stopProcess, type ProcessIdentity } from "../../lib/process-identity.js";
import { ProviderError, RecordStore, keyFilesLookOurs, notFound, removeKeyPair, type KeyRecord, type OwnershipHandlers } from "../kit/index.js";
import type { LibvirtBackend } from "./backend.js";
import { OWNER_FILE, readDataDirOwner, type RecordedOwner } from "./data-dir.js";
import type { LibvirtHost } from "./host.js";
import { allDomains, type DomainEntry } from "./inventory.js";
import { parseNetworkMetadata, type NetworkMetadata } from "./net/metadata.js";
import { parseNetworkXml } from "./net/libvirt-xml.js";
import { NetworkService, type NetworkRecord } from "./networks.js";
import { HostDataDirs, orphanVmFilesDetail, remoteFilesOf, remoteLeftovers, removeEmptyRemoteDirs, removeOrphanVmFiles, type LiveVmFiles } from "./remote-vm-files.js";
import { release } from "./vm/fixed-ip.js";

// gc on libvirt: everything this provider made, of every environment, found by what it recorded on it. Domains
// carry our <metadata>; networks (libvirt networks, bridges, dnsmasq) are the records in a data dir, written before
// anything exists, and a libvirt network also carries our <metadata>, so one whose records are gone is still found; keys are key records; files are VM dirs whose domain is gone and per-environment data dirs,
// each naming its owner (on a remote host, the VM dirs and console logs kept there: remote-vm-files.ts). A foreign
// domain (no metadata), a bridge nobody recorded, whatever its name, and a dnsmasq whose pid file does not name it
// are never listed, so reclaim answers NOT_FOUND for them.

/** A per-environment data dir made before owner.json existed is named after the prefix the orchestrator derives. */
const LEGACY_DATA_DIR = /^[0-9a-f]{6}$/;

export interface DataDirInfo {
  dir: string;
  owner: RecordedOwner;
  createdAt?: string;
  /** <data root>/<prefix>: gc may remove it whole; a configured (shared) dataDir never is. */
  perEnvironment: boolean;
}

/** One object with the removal that applies to it. */
export interface Owned {
  object: OwnedObject;
  reclaim(): Promise<void>;
}

export interface OwnershipDeps {
  backend: LibvirtBackend;
  host: LibvirtHost;
  log: Logger;
  /** Where per-environment data dirs live (<data root>/<prefix>). */
  dataRoot: string;
  /** This process's dataDir (a configured one is shared by environments and looked at too). */
  dataDir: string;
  /** Removes a VM of ours by name, from its metadata (the VM service's delete). */
  deleteVm(name: string): Promise<void>;
}

function ownerFields(owner: RecordedOwner | undefined): RecordedOwner {
  return {
    ...(owner?.testID !== undefined ? { testID: owner.testID } : {}),
    ...(owner?.prefix !== undefined ? { prefix: owner.prefix } : {}),
    ...(owner?.stateDir !== undefined ? { stateDir: owner.stateDir } : {}),
  };
}

/** The owner of a data dir: its owner.json, else (legacy) the prefix it is named after. */
export function dataDirOwner(dir: string, recorded: RecordedOwner | undefined, perEnvironment: boolean): RecordedOwner {
  if (recorded !== undefined && (recorded.testID !== undefined || recorded.prefix !== undefined)) return ownerFields(recorded);
  return perEnvironment && LEGACY_DATA_DIR.test(basename(dir)) ? { prefix: basename(dir) } : {};
}

/** A domain is ours when it carries our metadata; its owner and files are in it. */
export function domainObject(domain: DomainEntry, createdAt: string | undefined, snapshots: number): OwnedObject | undefined {
  const metadata = domain.metadata;
  if (metadata === undefined) return undefined;
  const when = metadata.createdAt ?? createdAt;
  return {
    kind: "vm",
    name: domain.name,
    detail: `libvirt domain (disk ${metadata.disk}${snapshots > 0 ? `, ${snapshots} snapshot${snapshots === 1 ? "" : "s"}` : ""})`,
    ...ownerFields(metadata),
    ...(when !== undefined ? { createdAt: when } : {}),
  };
}

/** What a network record stands for on the host, in words: the bridge, libvirt network and dnsmasq it made. */
export function networkDetail(record: NetworkRecord): string {
  const parts: string[] = [];
  if (record.kind === "libvirt") parts.push(`libvirt network on bridge ${record.interfaceName}`);
  else if (record.kind === "bridge") parts.push(`Linux bridge ${record.interfaceName}`);
  else parts.push(`on bridge ${record.interfaceName}`);
  if (record.dnsmasq) parts.push(`dnsmasq pid ${record.dnsmasq.identity.pid}`);
  if (record.creating) parts.push("create never finished");
  return parts.join(", ");
}

/** A libvirt network no record names, found by the owner in its <metadata>. */
export function unrecordedNetworkObject(metadata: NetworkMetadata, bridge: string | undefined): OwnedObject {
  return {
    kind: "network",
    name: metadata.name,
    detail: `libvirt network${bridge === undefined ? "" : ` on bridge ${bridge}`} (found by its metadata; no data dir records it)`,
    ...ownerFields(metadata),
  };
}

export function networkObject(record: NetworkRecord, dirOwner: RecordedOwner): OwnedObject {
  return { kind: "network", name: record.name, detail: networkDetail(record), ...ownerFields(record.owner ?? dirOwner), createdAt: record.createdAt };
}

/** A key record is ours to remove only as it was written: <dir>/<name> and <dir>/<name>.pub. */
export { keyFilesLookOurs } from "../kit/index.js";

export function keyObject(record: KeyRecord, dirOwner: RecordedOwner): OwnedObject {
  const owner = dirOwner.prefix === undefined && record.prefix !== undefined ? { ...dirOwner, prefix: record.prefix } : dirOwner;
  return { kind: "key", name: record.name, detail: `key pair ${record.privateKeyPath} (+ .pub)`, ...ownerFields(owner), createdAt: record.createdAt };
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name)).sort();
}

async function madeAt(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    return new Date(info.birthtimeMs > 0 ? info.birthtimeMs : info.mtimeMs).toISOString();
  } catch {
    return undefined;
  }
}

/** The data dirs to look into: every per-environment one under the root, and this process's own. */
export async function findDataDirs(dataRoot: string, dataDir: string): Promise<DataDirInfo[]> {
  const dirs = new Map<string, boolean>();
  for (const dir of await subdirs(dataRoot)) dirs.set(dir, true);
  if (dirname(dataDir) !== dataRoot) dirs.set(dataDir, false);
  const found: DataDirInfo[] = [];
  for (const [dir, underRoot] of dirs) {
    const recorded = await readDataDirOwner(dir);
    const perEnvironment = underRoot && (recorded !== undefined || LEGACY_DATA_DIR.test(basename(dir)));
    if (underRoot && !perEnvironment) continue; // another tool's folder (podman's, a `default` dir of no environment)
    const createdAt = recorded?.createdAt || (await madeAt(dir));
    found.push({ dir, owner: dataDirOwner(dir, recorded, perEnvironment), perEnvironment, ...(createdAt ? { createdAt } : {}) });
  }
  return found;
}

/** dnsmasq processes started for a data dir: a pid file whose live process was started with that very pid file. */
async function dnsmasqsOf(dir: string): Promise<ProcessIdentity[]> {
  const running: ProcessIdentity[] = [];
  for (const networkDir of await subdirs(join(dir, "dnsmasq"))) {
    const pidFile = join(networkDir, "dnsmasq.pid");
    const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 1) continue;
    const identity = await readIdentity(pid);
    if (identity?.cmdline.includes(`--pid-file=${pidFile}`)) running.push(identity);
  }
  return running;
}

export class LibvirtOwnership {
  constructor(private readonly deps: OwnershipDeps) {}

  /** Everything ours with its removal, read fresh from libvirt and the data dirs each time. */
  async inventory(): Promise<Owned[]> {
    const { backend, host } = this.deps;
    const owned: Owned[] = [];
    const domains = await allDomains(backend);
    const domainDirs = new Set<string>();
    const consoleLogs = new Set<string>();
    for (const domain of domains) {
      const metadata = domain.metadata;
      if (metadata === undefined) continue;
      domainDirs.add(metadata.vmDir);
      consoleLogs.add(metadata.consoleLog);
      const local = !host.remote;
      const snapshots = local ? (await subdirs(join(metadata.vmDir, "snapshots"))).length : 0;
      const object = domainObject(domain, local ? await madeAt(metadata.vmDir) : undefined, snapshots);
      if (object) owned.push({ object, reclaim: () => this.deps.deleteVm(domain.name) });
    }
    const live: LiveVmFiles = { vmDirs: domainDirs, consoleLogs };
    const onHost = host.remote ? new HostDataDirs(host) : undefined;
    for (const data of await findDataDirs(this.deps.dataRoot, this.deps.dataDir)) owned.push(...(await this.ofDataDir(data, live, onHost)));
    const recorded = new Set(owned.filter((entry) => entry.object.kind === "network").map((entry) => entry.object.name));
    owned.push(...(await this.unrecordedNetworks(recorded)));
    return owned;
  }

  /** libvirt networks with our metadata that no data dir records (its dir was removed): found by the metadata alone. */
  private async unrecordedNetworks(recorded: ReadonlySet<string>): Promise<Owned[]> {
    const { backend } = this.deps;
    const owned: Owned[] = [];
    for (const name of await backend.listNetworks()) {
      if (recorded.has(name)) continue;
      const xml = await backend.networkXml(name);
      const metadata = xml === undefined ? undefined : parseNetworkMetadata(xml, name);
      if (metadata === undefined || xml === undefined) continue;
      owned.push({
        object: unrecordedNetworkObject(metadata, parseNetworkXml(xml).bridge),
        // No record: the service removes the libvirt network by name (libvirt takes its bridge and dnsmasq with it).
        reclaim: () => this.networksIn(this.deps.dataDir, metadata).delete(name, false),
      });
    }
    return owned;
  }

  /** onHost: a remote host's data dirs (undefined on the local host). */
  private async ofDataDir(data: DataDirInfo, live: LiveVmFiles, onHost: HostDataDirs | undefined): Promise<Owned[]> {
    const { dir, owner } = data;
    const records = new RecordStore(dir);
    const owned: Owned[] = [];
    for (const name of await records.names("networks")) {
      const record = await records.read<NetworkRecord>("networks", name);
      if (record === undefined || (record.host ?? "local") !== this.deps.host.name) continue;
      owned.push({ object: networkObject(record, owner), reclaim: () => this.networksIn(dir, record.owner ?? owner).delete(name, false) });
    }
    for (const name of await records.names("keys")) {
      const record = await records.read<KeyRecord>("keys", name);
      if (record === undefined || !keyFilesLookOurs(record)) continue;
      owned.push({
        object: keyObject(record, owner),
        reclaim: () => removeKeyPair(records, name, record),
      });
    }
    // VM files are on the libvirt host (a remote one keeps them at the same paths).
    if (onHost) owned.push(...(await this.remoteVmFiles(onHost, data, live)));
    else {
      for (const vmDir of await subdirs(join(dir, "vms"))) {
        if (live.vmDirs.has(vmDir)) continue; // its domain's removal takes them
        const createdAt = await madeAt(vmDir);
        owned.push({
          object: { kind: "file", name: vmDir, detail: "VM files (overlay, seed ISO, snapshots) whose domain is gone", ...ownerFields(owner), ...(createdAt ? { createdAt } : {}) },
          reclaim: async () => {
            await release(this.deps.backend, vmDir);
            await rm(vmDir, { recursive: true, force: true });
          },
        });
      }
    }
    if (data.perEnvironment) {
      owned.push({
        object: { kind: "file", name: dir, detail: "per-environment data dir", ...ownerFields(owner), ...(data.createdAt ? { createdAt: data.createdAt } : {}) },
        reclaim: () => this.removeDataDir(dir),
      });
    }
    return owned;
  }

  private async remoteVmFiles(onHost: HostDataDirs, data: DataDirInfo, live: LiveVmFiles): Promise<Owned[]> {
    const { host, backend } = this.deps;
    const owner = ownerFields(data.owner);
    const found = await remoteFilesOf(onHost, data.dir, data.owner.prefix, live);
    const vms = found.vms.map((files): Owned => ({
      object: { kind: "file", name: files.vmDir, detail: orphanVmFilesDetail(host, files), ...owner, ...(files.madeAt ? { createdAt: files.madeAt } : {}) },
      reclaim: () => removeOrphanVmFiles(host, backend, files),
    }));
    const consoles = found.consoleLogs.map((log): Owned => ({
      object: { kind: "file", name: log.path, detail: `console log on ${host.name} of a VM whose domain is gone`, ...owner, ...(log.madeAt ? { createdAt: log.madeAt } : {}) },
      reclaim: () => host.remove(log.path),
    }));
    return [...vms, ...consoles];
  }

  private networksIn(dir: string, owner: RecordedOwner): NetworkService {
    return new NetworkService({ backend: this.deps.backend, records: new RecordStore(dir), dataDir: dir, prefix: owner.prefix, bridgePrefix: undefined, log: this.deps.log, host: this.deps.host });
  }

  /** Last: only once nothing it records is left (gc tries again after the rest of the files went). */
  private async removeDataDir(dir: string): Promise<void> {
    const { host } = this.deps;
    const records = new RecordStore(dir);
    const left = [
      ...(await records.names("networks")).map((name) => `network ${name}`),
      ...(await records.names("keys")).map((name) => `key ${name}`),
      ...(await subdirs(join(dir, "vms"))).map((vmDir) => `VM files ${basename(vmDir)}`),
      ...(host.remote ? await remoteLeftovers(host, dir) : []),
    ];
    if (left.length > 0) throw new ProviderError("RESOURCE_BUSY", `data dir ${dir} still records ${left.join(", ")}; those go first`);
    // A dnsmasq whose identity never reached a record (killed mid-create) is still known by its pid file.
    for (const identity of await dnsmasqsOf(dir)) await stopProcess(identity);
    if (host.remote) {
      // Its twin on the host (vms/, console/, dnsmasq/ folders): what still holds a file there is not ours and stays.
      await removeEmptyRemoteDirs(host, dir, true);
      if (await host.exists(dir)) this.deps.log.info(`data dir ${dir} on ${host.name} kept: it holds files that are not testenv-vm's`);
    }
    await rm(dir, { recursive: true, force: true });
    this.deps.log.debug(`data dir ${dir} removed (${OWNER_FILE} and all)`);
  }

  handlers(): Required<OwnershipHandlers> {
    return {
      owned: async () => (await this.inventory()).map((entry) => entry.object),
      reclaim: async (request: ReclaimRequest) => {
        const entry = (await this.inventory()).find((candidate) => candidate.object.kind === request.kind && candidate.object.name === request.name);
        // Absent and foreign are the same answer: nothing of ours by that name.
        if (entry === undefined) throw notFound(request.kind, request.name);
        await entry.reclaim();
      },
    };
  }
}
