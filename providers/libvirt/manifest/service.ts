import type {
  MachineCaptureRequest,
  MachineCaptureResult,
  MachineCapture,
  MachinePlanEntry,
  MachinePowerRequest,
  MachinePowerResult,
  MachineSpec,
  MachineStatus,
  MachineStatusRequest,
  MachineStatusResult,
  MachineSyncRequest,
  MachineSyncResult,
} from "../../../api/vm-manifest.js";
import type { Logger } from "../../../lib/log.js";
import { ProviderError, invalidSpec, type MachineHandlers } from "../../kit/index.js";
import type { LibvirtBackend } from "../backend.js";
import { powerOffDomain } from "../vm/power-off.js";
import { machineXml, type NetworkAttachment } from "./desired-xml.js";
import type { MachineHost } from "./host.js";
import { parseMachineMetadata } from "./metadata.js";
import { observeMachine, type ObservedMachine } from "./observe.js";
import { checkIsoFile, checkManifestPath, diskKind, type DiskKind } from "./paths.js";
import { GIB, diskGiB, needsDefine, planMachine } from "./plan.js";

// sync / status / capture / power of manifest VMs on one libvirt host. Domains are compared through their
// persistent definition (dumpxml --inactive), so a change already defined but waiting for a restart is not planned
// again; the live XML only tells what a running VM runs with now.

export interface MachineServiceDeps {
  backend: LibvirtBackend;
  host: MachineHost;
  accelerator: () => Promise<"kvm" | "tcg">;
  log: Logger;
  /** How long a --restart gives the guest to shut down before it is forced off. */
  restartTimeoutSeconds?: number;
}

interface Prepared {
  spec: MachineSpec;
  diskKind: DiskKind;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class MachineService {
  constructor(private readonly deps: MachineServiceDeps) {}

  /** Checks and ~-expands the paths of a manifest VM; the disk must exist unless create_if_missing. */
  private async prepare(name: string, spec: MachineSpec, allowBlockDevice: boolean): Promise<Prepared> {
    const field = (f: string): string => `vms.${name}.${f}`;
    const diskPath = checkManifestPath(spec.disk_path, field("disk_path"));
    const kind = await diskKind(diskPath, field("disk_path"), allowBlockDevice);
    if (kind === "missing" && !spec.create_if_missing) {
      throw invalidSpec(`${field("disk_path")}: ${diskPath} does not exist; create it, or set create_if_missing: true to get an empty qcow2 of disk_size_gb`);
    }
    const isoSources = [];
    for (const [index, iso] of spec.iso_sources.entries()) {
      const path = checkManifestPath(iso.path, field(`iso_sources[${index}].path`));
      await checkIsoFile(path, field(`iso_sources[${index}].path`));
      isoSources.push({ path });
    }
    return { spec: { ...spec, disk_path: diskPath, iso_sources: isoSources }, diskKind: kind };
  }

  private async attachment(name: string, network: string): Promise<NetworkAttachment> {
    if ((await this.deps.backend.listNetworks()).includes(network)) return { type: "network", network };
    if (await this.deps.host.bridgeExists(network)) return { type: "bridge", bridge: network };
    throw invalidSpec(`vms.${name}.network: "${network}" is neither a libvirt network nor a host bridge; it is never created here (virsh net-list --all)`);
  }

  private async observe(name: string): Promise<ObservedMachine | undefined> {
    const xml = await this.deps.host.inactiveXml(name);
    return xml === undefined ? undefined : observeMachine(xml);
  }

  async sync(request: MachineSyncRequest): Promise<MachineSyncResult> {
    const machines: MachinePlanEntry[] = [];
    for (const [name, spec] of Object.entries(request.machines)) {
      try {
        machines.push(await this.syncOne(name, spec, request));
      } catch (error) {
        machines.push({ name, action: "error", changes: [], restartNeeded: false, applied: false, restarted: false, notes: [errorText(error)] });
      }
    }
    if (request.prune) machines.push(...(await this.prune(request)));
    return { dryRun: request.dryRun, machines };
  }

  private async syncOne(name: string, rawSpec: MachineSpec, request: MachineSyncRequest): Promise<MachinePlanEntry> {
    const { backend, host } = this.deps;
    const { spec, diskKind: kind } = await this.prepare(name, rawSpec, request.allowBlockDevice);
    const observed = await this.observe(name);
    const running = observed !== undefined && (await backend.domainRunning(name));
    const diskBytes = kind === "missing" ? undefined : (await host.diskInfo(spec.disk_path)).virtualSize;
    const changes = planMachine(name, spec, request.manifestPath, {
      observed,
      autostart: observed === undefined ? undefined : await host.autostart(name),
      diskBytes,
    });
    const notes: string[] = [];
    if (observed !== undefined && needsDefine(changes) && observed.notRoundTripped.length > 0) {
      notes.push(`redefining drops what the manifest cannot express: ${observed.notRoundTripped.join("; ")}`);
    }
    const waitsForRestart = running && changes.some((c) => c.needsRestart);
    const entry: MachinePlanEntry = {
      name,
      action: observed === undefined ? "create" : changes.length === 0 ? "unchanged" : "update",
      changes,
      restartNeeded: waitsForRestart,
      applied: false,
      restarted: false,
      notes,
    };
    if (request.dryRun || changes.length === 0) return entry;

    const bytes = spec.disk_size_gb * GIB;
    if (kind === "missing") await host.createDisk(spec.disk_path, bytes);
    if (needsDefine(changes) || observed === undefined) {
      const format = kind === "block" ? "raw" : (await host.diskInfo(spec.disk_path)).format;
      await backend.defineDomain(
        machineXml({
          name,
          spec,
          accelerator: await this.deps.accelerator(),
          uuid: observed?.uuid,
          mac: observed?.network?.mac,
          diskFormat: format,
          diskIsBlock: kind === "block",
          attachment: await this.attachment(name, spec.network),
          metadata: { version: 1, manifest: request.manifestPath, disk: spec.disk_path },
        }),
      );
    }
    if (changes.some((c) => c.field === "autostart") || (observed === undefined && spec.autostart)) await host.setAutostart(name, spec.autostart);
    const grow = diskBytes !== undefined && spec.disk_size_gb > diskGiB(diskBytes);
    if (waitsForRestart && request.restart) {
      await powerOffDomain(backend, this.deps.log, name, { timeoutSeconds: this.deps.restartTimeoutSeconds ?? 120, force: false });
      if (grow) await host.growDisk(spec.disk_path, bytes);
      await backend.startDomain(name);
      return { ...entry, applied: true, restarted: true, restartNeeded: false };
    }
    if (grow && !running) await host.growDisk(spec.disk_path, bytes);
    if (grow && running) notes.push(`disk_size_gb: the disk grows once the VM is off; run sync again then, or sync --restart`);
    return { ...entry, applied: true };
  }

  /** Undefines domains this manifest defined that it no longer lists; running ones are left (with a note). */
  private async prune(request: MachineSyncRequest): Promise<MachinePlanEntry[]> {
    const { backend, host } = this.deps;
    const entries: MachinePlanEntry[] = [];
    for (const name of await backend.listDomains()) {
      if (Object.hasOwn(request.machines, name)) continue;
      const xml = await backend.domainXml(name);
      const metadata = xml === undefined ? undefined : parseMachineMetadata(xml);
      if (metadata?.manifest !== request.manifestPath) continue;
      const entry: MachinePlanEntry = {
        name,
        action: "prune",
        changes: [{ field: "domain", from: "defined", to: request.removeStorage ? "undefined, disk removed" : "undefined, disk kept", needsRestart: false }],
        restartNeeded: false,
        applied: false,
        restarted: false,
        notes: [],
      };
      if (await backend.domainRunning(name)) {
        entries.push({ ...entry, notes: ["it is running: stop it (testenv-vm vm stop) and prune again"] });
        continue;
      }
      if (!request.dryRun) {
        await backend.undefineDomain(name);
        if (request.removeStorage) await host.removeDisk(metadata.disk);
      }
      entries.push({ ...entry, applied: !request.dryRun, notes: request.removeStorage ? [] : [`disk kept: ${metadata.disk}`] });
    }
    return entries;
  }

  async status(request: MachineStatusRequest): Promise<MachineStatusResult> {
    const machines: MachineStatus[] = [];
    for (const [name, spec] of Object.entries(request.machines)) machines.push(await this.statusOne(name, spec));
    return { machines };
  }

  private async statusOne(name: string, rawSpec: MachineSpec): Promise<MachineStatus> {
    const { backend, host } = this.deps;
    const liveXml = await backend.domainXml(name);
    if (liveXml === undefined) return { name, state: "missing", managed: false, drift: [], pendingRestart: false };
    const running = await backend.domainRunning(name);
    const live = observeMachine(liveXml);
    const defined = (await this.observe(name)) ?? live;
    let drift: MachineStatus["drift"] = [];
    try {
      const { spec, diskKind: kind } = await this.prepare(name, rawSpec, true);
      const diskBytes = kind === "missing" ? undefined : (await host.diskInfo(spec.disk_path)).virtualSize;
      drift = planMachine(name, spec, defined.metadata?.manifest ?? "", { observed: defined, autostart: await host.autostart(name), diskBytes }).filter((c) => c.field !== "owner");
    } catch (error) {
      drift = [{ field: "manifest", from: "", to: errorText(error), needsRestart: false }];
    }
    const graphics = live.graphics;
    return {
      name,
      state: running ? "running" : "stopped",
      managed: defined.metadata !== undefined,
      drift,
      pendingRestart: running && runsOlderDefinition(live, defined),
      ...(running && graphics?.port !== undefined ? { graphicsUri: `${graphics.type}://${graphics.listen ?? "127.0.0.1"}:${graphics.port}` } : {}),
    };
  }

  async capture(request: MachineCaptureRequest): Promise<MachineCaptureResult> {
    const machines: MachineCapture[] = [];
    for (const name of request.names) {
      const observed = await this.observe(name);
      if (observed === undefined) {
        machines.push({ name, notRoundTripped: [] });
        continue;
      }
      machines.push(await this.captureOne(name, observed));
    }
    return { machines };
  }

  private async captureOne(name: string, observed: ObservedMachine): Promise<MachineCapture> {
    const notes = [...observed.notRoundTripped];
    if (observed.disk === undefined) return { name, notRoundTripped: [...notes, "the domain has no disk: disk_path cannot be captured"] };
    if (observed.network === undefined) notes.push("no network interface (network is required: captured as \"default\")");
    const memoryMiB = observed.memoryMiB ?? 1024;
    if (memoryMiB % 1024 !== 0) notes.push(`memory ${memoryMiB} MiB is not whole GiB (captured rounded up)`);
    const diskBytes = (await this.deps.host.diskInfo(observed.disk.path).catch(() => undefined))?.virtualSize;
    if (diskBytes === undefined) notes.push(`disk ${observed.disk.path} cannot be read: disk_size_gb captured as 1`);
    const spec: MachineSpec = {
      memory_gb: Math.max(1, Math.ceil(memoryMiB / 1024)),
      vcpus: observed.vcpus ?? 1,
      disk_path: observed.disk.path,
      disk_size_gb: diskBytes === undefined ? 1 : Math.max(1, diskGiB(diskBytes)),
      create_if_missing: false,
      boot: observed.boot,
      tpm: observed.tpm,
      network: observed.network?.name ?? "default",
      graphics: observed.graphics?.type ?? "none",
      iso_sources: observed.isoPaths.map((path) => ({ path })),
      autostart: await this.deps.host.autostart(name),
      ...(observed.cpuModel === undefined ? {} : { cpu_model: observed.cpuModel }),
      // Written only where it differs from the default the manifest would give (uefi + tpm 2.0 → on).
      ...(observed.boot === "uefi" && observed.secureBoot !== (observed.tpm === "2.0") ? { secure_boot: observed.secureBoot } : {}),
    };
    return { name, vm: spec, notRoundTripped: notes };
  }

  async power(request: MachinePowerRequest): Promise<MachinePowerResult> {
    const { backend, log } = this.deps;
    const { name } = request;
    if ((await backend.domainXml(name)) === undefined) throw new ProviderError("NOT_FOUND", `domain "${name}" is not defined; run testenv-vm vm sync first`);
    if (request.action === "start") {
      if (await backend.domainRunning(name)) return { name, state: "running", outcome: "already-running" };
      await backend.startDomain(name);
      return { name, state: "running", outcome: "started" };
    }
    const outcome = await powerOffDomain(backend, log, name, { timeoutSeconds: request.timeoutSeconds, force: request.force });
    return { name, state: "stopped", outcome };
  }

  handlers(): MachineHandlers {
    return {
      sync: (request) => this.sync(request),
      status: (request) => this.status(request),
      capture: (request) => this.capture(request),
      power: (request) => this.power(request),
    };
  }
}

/** What a running domain runs with differs from what it is defined as (a synced change waits for a restart). */
function runsOlderDefinition(live: ObservedMachine, defined: ObservedMachine): boolean {
  const shape = (m: ObservedMachine): string =>
    JSON.stringify([m.memoryMiB, m.vcpus, m.boot, m.secureBoot, m.tpm, m.disk?.path, m.isoPaths, m.network?.name, m.graphics?.type, m.cpuModel]);
  return shape(live) !== shape(defined);
}
