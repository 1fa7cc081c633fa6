import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { NetworkCreateRequest } from "../../api/provider.js";
import { writeJsonAtomic } from "../../lib/durable-file.js";
import { CommandError, run } from "../../lib/run.js";
import { ProviderError, invalidSpec } from "../kit/index.js";
import { parseCidr } from "../kit/ipv4.js";
import { LABEL } from "./labels.js";

// A podman network on a Linux bridge someone else owns (a libvirt network's bridge, the user's LAN bridge).
// podman 4.3 has no `network create --interface-name`, and refuses a subnet that is already on a host interface,
// which an existing bridge's always is; so the provider writes the network's definition file itself, in the
// format `podman network inspect` prints, into its own network config dir. netavark 1.4 then plugs containers'
// veths into that bridge. Two things of netavark's would harm a bridge we do not own, and are avoided here:
// - a non-internal network NATs the whole subnet and leaves its iptables rules until the bridge goes away: an
//   attached network is always `internal` (the bridge's owner routes; the container reaches the bridge's subnet);
// - when the last container leaves, netavark deletes a bridge that has no ports left: a "keeper" tap (no process
//   behind it, so it carries nothing) stays a port of the bridge for the network's life and goes with it.

/** Label naming the bridge an attached network uses, and the keeper tap that guards it. */
export const ATTACHED_LABEL = { bridge: "testenv-vm.attached-to", keeper: "testenv-vm.keeper" } as const;

const IFNAME_MAX = 15;

/** The keeper tap's name: stable for a network name, so a fresh process finds it; prefixed, so a leak check sees it. */
export function keeperName(network: string, prefix: string | undefined): string {
  const hash = createHash("sha256").update(network).digest("hex").slice(0, 4);
  const head = (prefix ?? "tvm").slice(0, IFNAME_MAX - 6);
  return `${head}-k${hash}`;
}

/** The subnet of an attached network: the spec's cidr, else the bridge's own IPv4 address (its owner's subnet). */
export interface AttachedSubnet {
  cidr: string | undefined;
  gateway: string | undefined;
}

/** What `podman network inspect` would print for the attached network: podman reads it from the config dir. */
export function attachedNetworkDefinition(request: NetworkCreateRequest, labels: Record<string, string>, keeper: string, bridgeAddress?: string, now = new Date()): Record<string, unknown> {
  const { spec } = request;
  const bridge = spec.attachTo;
  if (bridge === undefined || bridge === "") throw invalidSpec("spec.attachTo: the bridge to attach to");
  const cidr = spec.cidr ?? bridgeAddress;
  if (cidr === undefined) throw invalidSpec(`spec.cidr: bridge ${bridge} has no IPv4 address to take the subnet from; give the network the bridge's subnet (for example 192.168.1.0/24)`);
  // A gateway only keeps the allocator off that address: an internal network gives containers no default route.
  const net = parseCidr(cidr, spec.gateway ?? (spec.cidr === undefined ? bridgeAddress?.split("/")[0] : undefined));
  return {
    name: request.name,
    id: randomBytes(32).toString("hex"),
    driver: "bridge",
    network_interface: bridge,
    created: now.toISOString(),
    subnets: [{ subnet: `${net.network}/${net.prefixLength}`, gateway: net.gateway }],
    ipv6_enabled: false,
    internal: true,
    dns_enabled: false,
    labels: { ...labels, [LABEL.kind]: request.kind.toLowerCase(), [ATTACHED_LABEL.bridge]: bridge, [ATTACHED_LABEL.keeper]: keeper },
    ...(spec.mtu !== undefined ? { options: { mtu: String(spec.mtu) } } : {}),
    ipam_options: { driver: "host-local" },
  };
}

const NO_DEVICE = /cannot find device|does not exist/i;

async function ip(args: readonly string[]): Promise<string> {
  try {
    return (await run("ip", args, { timeoutMs: 15_000 })).stdout;
  } catch (error) {
    const stderr = error instanceof CommandError ? error.stderr.trim() : String(error);
    throw new ProviderError("PROVIDER_ERROR", `ip ${args.join(" ")}: ${stderr}`, { cause: error, details: { stderr } });
  }
}

interface Link {
  /** "bridge", "tun", ...; "device" for a plain one. */
  kind: string;
  /** Its first IPv4 address with the prefix length, as a cidr. */
  ipv4: string | undefined;
}

/** The link called `name`, or undefined when there is none. */
export async function link(name: string): Promise<Link | undefined> {
  try {
    const [entry] = JSON.parse(await ip(["-j", "-d", "addr", "show", "dev", name])) as Array<{ linkinfo?: { info_kind?: string }; addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }> }>;
    if (entry === undefined) return undefined;
    const inet = entry.addr_info?.find((address) => address.family === "inet" && address.local !== undefined);
    return { kind: entry.linkinfo?.info_kind ?? "device", ipv4: inet === undefined ? undefined : `${inet.local ?? ""}/${inet.prefixlen ?? 32}` };
  } catch (error) {
    if (error instanceof ProviderError && NO_DEVICE.test(String(error.details?.stderr))) return undefined;
    throw error;
  }
}

export class AttachedNetworks {
  constructor(private readonly configDir: string) {}

  /** Checks the bridge, plugs the keeper into it, then writes the definition; a failure leaves neither behind. */
  async create(request: NetworkCreateRequest, labels: Record<string, string>, prefix: string | undefined): Promise<void> {
    const keeper = keeperName(request.name, prefix);
    const bridge = request.spec.attachTo ?? "";
    const found = bridge === "" ? undefined : await link(bridge);
    if (found?.kind !== "bridge") {
      throw new ProviderError("DEPENDENCY_FAILED", `spec.attachTo: ${found === undefined ? `there is no interface "${bridge}"` : `${bridge} is a ${found.kind}, not a Linux bridge`} in the provider's network namespace; create the bridge first`);
    }
    const definition = attachedNetworkDefinition(request, labels, keeper, found.ipv4);
    await this.removeKeeper(keeper);
    await ip(["tuntap", "add", "mode", "tap", "name", keeper]);
    try {
      await ip(["link", "set", "dev", keeper, "master", bridge]);
      await writeJsonAtomic(join(this.configDir, `${request.name}.json`), definition, { mode: 0o644, makeDirs: 0o755 });
    } catch (error) {
      await this.removeKeeper(keeper).catch(() => undefined);
      throw error;
    }
  }

  /** After `podman network rm`: the keeper goes, the bridge stays as its owner left it. */
  async removeKeeper(keeper: string): Promise<void> {
    if ((await link(keeper))?.kind === "tun") await ip(["link", "delete", "dev", keeper]);
  }
}
