import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { VMState } from "../../../api/provider.js";
import type { SnapshotInfo, VMSnapshotDeleteRequest, VMSnapshotListRequest, VMSnapshotRestoreRequest, VMSnapshotSaveRequest } from "../../../api/snapshot.js";
import type { Logger } from "../../../lib/log.js";
import { ProviderError, alreadyExists, pathExists, type SnapshotHandlers } from "../../kit/index.js";
import type { LibvirtBackend } from "../backend.js";
import { runOrFail } from "../exec.js";
import type { DomainMetadata } from "./metadata.js";

// Snapshots of a running VM: the guest's memory with `virsh save` (the domain stops, then `virsh restore` runs it
// again at once) and its disk as an internal qcow2 snapshot of the overlay, taken while qemu is down. Measured
// under TCG against libvirt's internal snapshots with memory (docs/performance.md): restore is a destroy, a
// `qemu-img snapshot -a` and a `virsh restore`. Everything lives in the VM's own directory and its overlay, so the
// VM's delete removes its snapshots; libvirt keeps no snapshot metadata that undefine would trip over.

export const SNAPSHOT_METHOD = "virsh-save+qcow2-internal";
const INFO_FILE = "info.json";
const MEMORY_FILE = "memory.save";
const NVRAM_FILE = "nvram.fd";

export interface LibvirtSnapshotDeps {
  uri: string;
  backend: LibvirtBackend;
  log: Logger;
  /** The domain's testenv metadata; NOT_FOUND when the domain is missing or not ours. */
  metadataOf(name: string): Promise<DomainMetadata>;
  /** After the domain runs again: its readiness checks (when waitReady) and its state. */
  settle(name: string, metadata: DomainMetadata, waitReady: boolean): Promise<VMState>;
}

const diskTag = (snapshot: string): string => `testenv-${snapshot}`;
const snapshotsDir = (metadata: DomainMetadata): string => join(metadata.vmDir, "snapshots");
const snapshotDir = (metadata: DomainMetadata, snapshot: string): string => join(snapshotsDir(metadata), snapshot);

function noSnapshot(vm: string, snapshot: string): ProviderError {
  return new ProviderError("NOT_FOUND", `vm "${vm}" has no snapshot "${snapshot}"`, { details: { vm, snapshot } });
}

async function readInfo(dir: string): Promise<SnapshotInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, INFO_FILE), "utf8")) as SnapshotInfo;
  } catch {
    return undefined;
  }
}

export class LibvirtSnapshots {
  constructor(private readonly deps: LibvirtSnapshotDeps) {}

  private virsh(what: string, args: readonly string[]): Promise<unknown> {
    return runOrFail(what, "virsh", ["-q", "-c", this.deps.uri, ...args], { timeoutMs: 600_000 });
  }

  private qemuImg(what: string, args: readonly string[]): Promise<unknown> {
    return runOrFail(what, "qemu-img", args, { timeoutMs: 120_000 });
  }

  /** Drops the overlay's internal snapshot: from the running qemu (HMP delvm), or from the file while qemu is down. */
  private async dropDiskTag(name: string, metadata: DomainMetadata, snapshot: string, running: boolean): Promise<void> {
    if (running) await this.virsh(`dropping disk snapshot ${snapshot} of ${name}`, ["qemu-monitor-command", name, "--hmp", `delvm ${diskTag(snapshot)}`]);
    else await this.qemuImg(`dropping disk snapshot ${snapshot} of ${name}`, ["snapshot", "-d", diskTag(snapshot), metadata.disk]);
  }

  async save(request: VMSnapshotSaveRequest): Promise<{ snapshot: SnapshotInfo; vm: VMState }> {
    const { name, snapshot } = request;
    const metadata = await this.deps.metadataOf(name);
    if (!(await this.deps.backend.domainRunning(name))) {
      throw new ProviderError("RESOURCE_BUSY", `vm "${name}" is not running; a snapshot keeps a running guest's memory, so start it first`);
    }
    const dir = snapshotDir(metadata, snapshot);
    const previous = await readInfo(dir);
    if (previous && !request.overwrite) throw alreadyExists("snapshot", `${name}/${snapshot}`);
    const staging = join(snapshotsDir(metadata), `.${snapshot}.saving`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true, mode: 0o755 });
    const started = Date.now();
    // The domain stops here, its memory in the file; from now on it must run again whatever else happens.
    await this.virsh(`saving the memory of ${name}`, ["save", name, join(staging, MEMORY_FILE), "--running"]);
    let memory = join(staging, MEMORY_FILE);
    let failure: Error | undefined;
    try {
      if (previous) {
        await this.dropDiskTag(name, metadata, snapshot, false);
        await rm(dir, { recursive: true, force: true });
      }
      await this.qemuImg(`snapshotting the disk of ${name}`, ["snapshot", "-c", diskTag(snapshot), metadata.disk]);
      if (metadata.nvram) await copyFile(metadata.nvram, join(staging, NVRAM_FILE));
      const info: SnapshotInfo = { snapshot, vm: name, createdAt: new Date().toISOString(), method: SNAPSHOT_METHOD, sizeBytes: (await stat(memory)).size };
      await writeFile(join(staging, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o644 });
      await rename(staging, dir);
      memory = join(dir, MEMORY_FILE);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    await this.virsh(`resuming ${name} after its snapshot`, ["restore", memory, "--running"]);
    if (failure !== undefined) {
      await rm(staging, { recursive: true, force: true });
      throw failure;
    }
    this.deps.log.debug(`vm ${name}: snapshot ${snapshot} saved`, { ms: Date.now() - started });
    const info = await readInfo(dir);
    if (!info) throw noSnapshot(name, snapshot);
    return { snapshot: info, vm: await this.deps.settle(name, metadata, false) };
  }

  async restore(request: VMSnapshotRestoreRequest): Promise<{ snapshot: SnapshotInfo; vm: VMState }> {
    const { name, snapshot } = request;
    const metadata = await this.deps.metadataOf(name);
    const dir = snapshotDir(metadata, snapshot);
    const info = await readInfo(dir);
    if (!info) throw noSnapshot(name, snapshot);
    const started = Date.now();
    const lap = (step: string) => this.deps.log.debug(`vm ${name}: snapshot ${snapshot}: ${step}`, { ms: Date.now() - started });
    await this.deps.backend.destroyDomain(name);
    lap("domain destroyed");
    await this.qemuImg(`reverting the disk of ${name} to ${snapshot}`, ["snapshot", "-a", diskTag(snapshot), metadata.disk]);
    if (metadata.nvram && (await pathExists(join(dir, NVRAM_FILE)))) await copyFile(join(dir, NVRAM_FILE), metadata.nvram);
    lap("disk reverted");
    await this.virsh(`restoring the memory of ${name}`, ["restore", join(dir, MEMORY_FILE), "--running"]);
    lap("memory restored, guest running");
    return { snapshot: info, vm: await this.deps.settle(name, metadata, request.waitReady) };
  }

  async list(request: VMSnapshotListRequest): Promise<{ snapshots: SnapshotInfo[] }> {
    const metadata = await this.deps.metadataOf(request.name);
    const entries = await readdir(snapshotsDir(metadata), { withFileTypes: true }).catch(() => []);
    const infos: SnapshotInfo[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const info = await readInfo(join(snapshotsDir(metadata), entry.name));
      if (info) infos.push(info);
    }
    return { snapshots: infos.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.snapshot.localeCompare(b.snapshot)) };
  }

  async delete(request: VMSnapshotDeleteRequest): Promise<void> {
    const { name, snapshot } = request;
    const metadata = await this.deps.metadataOf(name);
    const dir = snapshotDir(metadata, snapshot);
    if (!(await readInfo(dir))) throw noSnapshot(name, snapshot);
    await this.dropDiskTag(name, metadata, snapshot, await this.deps.backend.domainRunning(name));
    await rm(dir, { recursive: true, force: true });
  }

  handlers(): SnapshotHandlers {
    return {
      save: (request) => this.save(request),
      restore: (request) => this.restore(request),
      list: (request) => this.list(request),
      delete: (request) => this.delete(request),
    };
  }
}
