import type { NetworkCreateRequest, NetworkState } from "../../api/provider.js";
import { ProviderError, alreadyExists, busy, checkResourceName, notFound, type ResourceHandlers } from "../kit/index.js";
import { parseCidr } from "../kit/ipv4.js";
import { ATTACHED_LABEL, AttachedNetworks, keeperName, link } from "./attached-network.js";
import { asNotFound, type PodmanCli } from "./cli.js";
import { LABEL, baseLabels, labelArgs, ownedFilter, type LabelContext } from "./labels.js";

// Podman networks (netavark bridges): a subnet, a gateway, a fixed address per container, and internal ones
// without a route out. `attachTo` puts the network on an existing Linux bridge (netavark adds its veths there),
// which is how a container shares a segment with a libvirt VM's bridge or the user's LAN (attached-network.ts).

export const NETWORK_KINDS = ["bridge", "nat", "isolated"];

interface PodmanNetwork {
  name: string;
  id: string;
  driver: string;
  network_interface?: string;
  created?: string;
  subnets?: Array<{ subnet: string; gateway?: string }>;
  internal?: boolean;
  labels?: Record<string, string> | null;
}

function unsupported(field: string, why: string): ProviderError {
  return new ProviderError("NOT_IMPLEMENTED", `${field}: ${why} (podman provider)`);
}

/** What no podman network can do, attached or not, as NOT_IMPLEMENTED naming the field. */
export function checkNetworkRequest(request: NetworkCreateRequest): void {
  const spec = request.spec;
  const kind = request.kind.toLowerCase();
  if (!NETWORK_KINDS.includes(kind)) throw unsupported("kind", `network kind "${request.kind}" is not supported; use ${NETWORK_KINDS.join(", ")}`);
  if (spec.dhcp) throw unsupported("spec.dhcp", "podman assigns container addresses itself; give a container a fixed IP in spec.container.ip");
  if (spec.tftp) throw unsupported("spec.tftp", "containers do not PXE boot");
  if (spec.dns?.hosts !== undefined && spec.dns.hosts.length > 0) throw unsupported("spec.dns.hosts", "static DNS records are not supported; containers resolve each other by name");
  if (spec.forwardMode === "route" || spec.forwardMode === "bridge") throw unsupported("spec.forwardMode", `forward mode ${spec.forwardMode} is not supported; use nat or isolated`);
}

/** `podman network create` for a network with a bridge of its own (attachTo is handled by AttachedNetworks). */
export function networkCreateArgs(request: NetworkCreateRequest, labels: Record<string, string>): string[] {
  checkNetworkRequest(request);
  const spec = request.spec;
  const kind = request.kind.toLowerCase();
  const args = ["network", "create", "--driver", "bridge", ...labelArgs({ ...labels, [LABEL.kind]: kind })];
  if (spec.cidr !== undefined) {
    const net = parseCidr(spec.cidr, spec.gateway);
    args.push("--subnet", `${net.network}/${net.prefixLength}`, "--gateway", net.gateway);
  }
  if (kind === "isolated" || spec.forwardMode === "isolated") args.push("--internal");
  if (spec.mtu !== undefined) args.push("--opt", `mtu=${spec.mtu}`);
  args.push(request.name);
  return args;
}

function stateOf(network: PodmanNetwork): NetworkState {
  const subnet = network.subnets?.[0];
  const labels = network.labels ?? {};
  return {
    name: network.name,
    kind: labels[LABEL.kind] ?? (network.internal === true ? "isolated" : "bridge"),
    status: "active",
    ...(subnet?.gateway !== undefined ? { ip: subnet.gateway, gateway: subnet.gateway } : {}),
    ...(subnet !== undefined ? { cidr: subnet.subnet } : {}),
    ...(network.network_interface !== undefined ? { interfaceName: network.network_interface } : {}),
    uuid: network.id,
    providerState: { driver: network.driver, internal: network.internal === true, labels },
  };
}

/**
 * A Linux bridge of the host that is no podman network, as an external network of a spec sees it (the bridge a
 * project's NETWORK_TYPE=bridge names): read, never created or deleted; networks attach to it.
 */
async function hostBridgeState(name: string): Promise<NetworkState | undefined> {
  const found = await link(name);
  if (found?.kind !== "bridge") return undefined;
  const net = found.ipv4 === undefined ? undefined : parseCidr(found.ipv4, found.ipv4.split("/")[0]);
  return {
    name,
    kind: "bridge",
    status: "active",
    ...(net !== undefined ? { ip: net.gateway, cidr: `${net.network}/${net.prefixLength}` } : {}),
    interfaceName: name,
    providerState: { hostBridge: true },
  };
}

export class NetworkService {
  private readonly attached: AttachedNetworks;

  constructor(
    private readonly podman: PodmanCli,
    private readonly labels: LabelContext,
    networkConfigDir: string,
  ) {
    this.attached = new AttachedNetworks(networkConfigDir);
  }

  async inspect(name: string): Promise<PodmanNetwork> {
    try {
      const [network] = await this.podman.json<PodmanNetwork[]>(["network", "inspect", name]);
      if (network === undefined) throw notFound("network", name);
      return network;
    } catch (error) {
      throw asNotFound(error, "network", name);
    }
  }

  private async usedBy(name: string): Promise<string[]> {
    const containers = await this.podman.json<Array<{ Names?: string[] }>>(["ps", "--all", "--filter", `network=${name}`, "--format", "json"]);
    return containers.flatMap((c) => c.Names ?? []);
  }

  handlers(): ResourceHandlers<NetworkCreateRequest, NetworkState> {
    return {
      create: async (request) => {
        const name = checkResourceName("network", request.name);
        if (await this.podman.exists("network", name)) throw alreadyExists("network", name);
        const labels = baseLabels(this.labels, name);
        if (request.spec.attachTo !== undefined && request.spec.attachTo !== "") {
          checkNetworkRequest(request);
          await this.attached.create({ ...request, name }, labels, this.labels.prefix);
        } else {
          await this.podman.run(networkCreateArgs({ ...request, name }, labels));
        }
        return stateOf(await this.inspect(name));
      },
      get: async (name) => {
        checkResourceName("network", name);
        try {
          return stateOf(await this.inspect(name));
        } catch (error) {
          const bridge = error instanceof ProviderError && error.code === "NOT_FOUND" ? await hostBridgeState(name) : undefined;
          if (bridge === undefined) throw error;
          return bridge;
        }
      },
      list: async () => {
        const networks = await this.podman.json<PodmanNetwork[]>(["network", "ls", ...ownedFilter(this.labels), "--format", "json"]);
        return networks.map(stateOf);
      },
      delete: async (name, force) => {
        checkResourceName("network", name);
        const network = await this.inspect(name).catch(async (error: unknown) => {
          // A create killed between plugging the keeper in and writing the definition leaves only the keeper.
          if (error instanceof ProviderError && error.code === "NOT_FOUND") await this.attached.removeKeeper(keeperName(name, this.labels.prefix));
          throw error;
        });
        if (!force) {
          const users = await this.usedBy(name);
          if (users.length > 0) throw busy("network", name, `container ${users.join(", ")}`);
        }
        try {
          await this.podman.run(["network", "rm", ...(force ? ["--force"] : []), name]);
        } catch (error) {
          throw asNotFound(error, "network", name);
        }
        const keeper = network.labels?.[ATTACHED_LABEL.keeper];
        if (keeper !== undefined) await this.attached.removeKeeper(keeper);
      },
    };
  }
}
