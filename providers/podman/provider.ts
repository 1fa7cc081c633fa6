import { join } from "node:path";
import type { CapabilitiesResponse, Operation } from "../../api/provider.js";
import { RecordStore, createKeyHandlers, type ProviderContext, type ProviderImplementation } from "../kit/index.js";
import { PodmanCli } from "./cli.js";
import { PROVIDER_NAME, resolveConfig } from "./config.js";
import { confEnv, writeConfFiles } from "./conf-files.js";
import { checkpointUnavailable } from "./checkpoint.js";
import { ContainerService } from "./containers.js";
import { readHostFacts, type HostFacts } from "./host.js";
import { ImageStore } from "./image.js";
import { LABEL } from "./labels.js";
import { NETWORK_KINDS, NetworkService } from "./networks.js";
import { podmanOwnership } from "./ownership.js";
import { podmanDiscovery } from "./plan.js";

/** What a container VM may use; everything else (disk, firmware, PXE, most of cloud-init) is refused up front. */
export const VM_FEATURES = ["container", "multiNic", "cloudInit.users", "cloudInit.hostname", "readiness.ssh", "readiness.tcp", "readiness.exec"];

export function capabilities(version: string): CapabilitiesResponse {
  const operations: Operation[] = ["create", "get", "list", "delete"];
  return {
    providerName: PROVIDER_NAME,
    version,
    resources: [
      { kind: "key", operations, keyTypes: ["ed25519", "rsa", "ecdsa"] },
      { kind: "network", operations, networkKinds: NETWORK_KINDS },
      { kind: "vm", operations: [...operations, "start", "stop"], vmFeatures: VM_FEATURES },
    ],
  };
}

export interface PodmanProviderOptions {
  version: string;
  /** Tests may describe another host; the binary reads this one. */
  facts?: HostFacts;
}

export async function createPodmanProvider(context: ProviderContext, options: PodmanProviderOptions): Promise<ProviderImplementation> {
  const config = resolveConfig(context, options.facts ?? readHostFacts());
  // Inspect mode (doctor, plan) changes nothing under the root, its config files included.
  const env = context.inspectOnly === true ? confEnv(config) : await writeConfFiles(config);
  const podman = new PodmanCli(config.podman, env, context.log);
  const labels = { testID: config.testID, prefix: config.prefix, stateDir: context.stateDir };
  const records = new RecordStore(config.root);
  const networks = new NetworkService(podman, labels, config.networkConfigDir);
  const images = new ImageStore(podman, config.root, config.baseImage, context.log);
  const containerDir = join(config.root, "containers");
  const containers = new ContainerService({ podman, images, labels, dir: containerDir, log: context.log });
  const keyDir = config.artifactDir ? join(config.artifactDir, "keys") : join(config.root, "keys");
  const keys = createKeyHandlers({
    records,
    defaultDir: keyDir,
    vmsUsingKey: async (name) => {
      const key = (await records.read<{ privateKeyPath?: string }>("keys", name))?.privateKeyPath;
      if (key === undefined) return [];
      const users = await podman.json<Array<{ Names?: string[] }>>(["ps", "--all", "--filter", `label=${LABEL.privateKey}=${key}`, "--format", "json"]).catch(() => []);
      return users.flatMap((c) => c.Names ?? []);
    },
    prefix: labels.prefix,
    owner: { testID: labels.testID, stateDir: labels.stateDir },
  });
  context.log.debug(`podman provider: root ${config.root}, runtime ${config.runtime ?? "podman's default"}, cgroups ${config.cgroupManager}, ulimits ${config.ulimits.join(" ") || "podman's defaults"}`);
  const networkHandlers = networks.handlers();
  const vmHandlers = containers.handlers();
  return {
    capabilities: () => capabilities(options.version),
    ...podmanDiscovery({ config, labels, records, keyDir, containerDir }),
    keys,
    networks: networkHandlers,
    vms: vmHandlers,
    ...podmanOwnership({ podman, vms: vmHandlers, networks: networkHandlers, records }),
    snapshotsUnavailable: checkpointUnavailable,
  };
}

/** For `testenv-vm-provider-podman build-image`: builds (or finds) the base image and returns its tag. */
export async function buildBaseImage(context: ProviderContext): Promise<string> {
  const config = resolveConfig(context, readHostFacts());
  const env = await writeConfFiles(config);
  return new ImageStore(new PodmanCli(config.podman, env, context.log), config.root, config.baseImage, context.log).ensureBase();
}
