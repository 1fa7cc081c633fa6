import { join } from "node:path";
import { MANIFEST_FEATURE, type CapabilitiesResponse, type Operation } from "../../api/provider.js";
import { RecordStore, createKeyHandlers, type ProviderContext, type ProviderImplementation } from "../kit/index.js";
import { DefaultLibvirtBackend, type LibvirtBackend } from "./backend.js";
import { DataDir, dataRoot, ownerOf, removeIfNoFiles } from "./data-dir.js";
import { LibvirtOwnership } from "./ownership.js";
import { holdFromEnv } from "./fault-hold.js";
import { DEFAULT_REMOTE_IMAGE_DIR, PROVIDER_NAME, resolveConfig, type ResolvedConfig } from "./config.js";
import { libvirtAvailability, libvirtHealth } from "./discovery.js";
import { domainsUsingKey } from "./inventory.js";
import { NETWORK_KINDS } from "./net/plan.js";
import { NetworkService } from "./networks.js";
import { chooseAccelerator } from "./accel.js";
import { localConnection } from "./connection.js";
import { LOCAL_HOST, type LibvirtHost } from "./host.js";
import { RemoteImageCache } from "./image-cache.js";
import { remoteLeftovers, removeEmptyRemoteDirs } from "./remote-vm-files.js";
import { SshHost } from "./ssh-host.js";
import { VirshMachineHost } from "./manifest/host.js";
import { MachineService } from "./manifest/service.js";
import { VmService } from "./vms.js";
import { LibvirtSnapshots } from "./vm/snapshots.js";

export interface LibvirtProviderOptions {
  version: string;
  /** Tests may pass their own backend; the binary always uses libvirt. */
  backend?: LibvirtBackend;
}

export function capabilities(version: string): CapabilitiesResponse {
  const operations: Operation[] = ["create", "get", "list", "delete"];
  return {
    providerName: PROVIDER_NAME,
    version,
    resources: [
      { kind: "key", operations, keyTypes: ["ed25519", "rsa", "ecdsa"] },
      { kind: "network", operations, networkKinds: NETWORK_KINDS },
      { kind: "vm", operations: [...operations, "start", "stop"], vmFeatures: ["disk", "bios", "uefi", "secureBoot", "tpm", "pxe", "multiNic", "cloudInit", "readiness.ssh", "readiness.tcp", "readiness.cloudInit", "consoleLog", "fixedIPs", MANIFEST_FEATURE], requiredVmFeatures: ["disk"] },
    ],
  };
}

export async function createLibvirtProvider(context: ProviderContext, options: LibvirtProviderOptions): Promise<ProviderImplementation> {
  const config: ResolvedConfig = resolveConfig(context);
  // libvirt-qemu must be able to walk into dataDir to open disks and seed ISOs. Inspecting creates nothing.
  const dataDir = new DataDir(config);
  if (context.inspectOnly !== true) await dataDir.ensure();
  const sshHost = config.remote ? new SshHost(config.remote, config.remoteSocket) : undefined;
  const host: LibvirtHost = sshHost ?? LOCAL_HOST;
  const connection = sshHost ? sshHost.libvirtConnection(config.uri) : localConnection(config.uri);
  const backend = options.backend ?? new DefaultLibvirtBackend(connection, context.log);
  const records = new RecordStore(config.dataDir);
  const networks = new NetworkService({
    backend,
    records,
    dataDir: config.dataDir,
    prefix: config.prefix,
    bridgePrefix: config.bridgePrefix,
    log: context.log,
    host,
    owner: ownerOf(config),
  });
  const images = host.remote ? new RemoteImageCache(host, config.imageCacheDir ?? DEFAULT_REMOTE_IMAGE_DIR) : undefined;
  const vms = new VmService({ backend, records, networks, config, host, images, log: context.log, hold: holdFromEnv(context.log) });
  const keyDir = config.artifactDir ? join(config.artifactDir, "keys") : join(config.dataDir, "keys");
  const keys = createKeyHandlers({
    records,
    defaultDir: keyDir,
    vmsUsingKey: (name) => domainsUsingKey(backend, name).catch(() => []),
    prefix: config.prefix,
  });
  context.log.debug(`libvirt provider: uri ${config.uri}, dataDir ${config.dataDir}${host.remote ? ` here and on ${host.name}` : ""}`);
  return {
    capabilities: () => capabilities(options.version),
    available: () => libvirtAvailability(),
    health: () => libvirtHealth(config, connection, context.log, host),
    plan: (planned) => {
      if (planned.tool === "vm_create") return vms.plan(planned.request);
      if (planned.tool === "network_create") return Promise.resolve(networks.plan(planned.request));
      const { name, spec } = planned.request;
      return Promise.resolve([{ action: "write" as const, summary: `${spec.type} key pair ${name}, generated at create (private 0600, public 0644)`, path: join(spec.outputDir ?? keyDir, name) }]);
    },
    ...new LibvirtOwnership({ backend, host, log: context.log, dataRoot: dataRoot(), dataDir: config.dataDir, deleteVm: (name) => vms.delete(name, true) }).handlers(),
    keys: dataDir.resources(keys),
    networks: dataDir.resources(networks.handlers()),
    vms: dataDir.vms(vms.handlers()),
    // Snapshots keep memory and disk files here and run qemu-img on them: not yet on a remote host.
    ...(host.remote
      ? { snapshotsUnavailable: () => Promise.resolve(`snapshots are not supported on a remote libvirt host (${host.name}) yet`) }
      : {
          snapshots: new LibvirtSnapshots({
            uri: config.uri,
            backend,
            log: context.log,
            metadataOf: (name) => vms.metadataOf(name),
            settle: (name, metadata, waitReady) => vms.settle(name, metadata, waitReady),
          }).handlers(),
        }),
    machines: new MachineService({
      backend,
      host: new VirshMachineHost(connection),
      accelerator: () => chooseAccelerator(config.accelerator, context.log),
      log: context.log,
    }).handlers(),
    shutdown: async () => {
      await backend.close();
      if (context.inspectOnly !== true) {
        if (host.remote) await removeEmptyRemoteDirs(host, config.dataDir, config.dataDirIsDefault);
        // gc finds a remote host's VM files from the data dir here: it stays while the host keeps VM files of it (a
        // create killed before its domain went), even when nothing but its owner record is left here; and when the
        // host cannot say.
        const keptThere = host.remote && (await remoteLeftovers(host, config.dataDir).then((left) => left.length > 0, () => true));
        if (!keptThere) await removeIfNoFiles(config.dataDir, config.dataDirIsDefault);
      }
      await host.close();
    },
  };
}
