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

/** What `podman network inspect` would print for the attached network: podman reads it from the config dir. */
export function attachedNetworkDefinition(request: NetworkCreateRequest, labels: Record<string, string>, keeper: string, now = new Date()): Record<string, unknown> {
  const { spec } = request;
  const bridge = spec.attachTo;
  if (bridge === undefined || bridge === "") throw invalidSpec("spec.attachTo: the bridge to attach to");
  if (spec.cidr === undefined) throw invalidSpec(`spec.cidr: a network attached to bridge ${bridge} needs that bridge's subnet (for example 192.168.100.1/24)`);
  const net = parseCidr(spec.cidr, spec.gateway);
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

/** The kind of link `name` is ("bridge", "tun", ...), or undefined when there is none. */
async function linkKind(name: string): Promise<string | undefined> {
  try {
    const [link] = JSON.parse(await ip(["-j", "-d", "link", "show", "dev", name])) as Array<{ linkinfo?: { info_kind?: string } }>;
    return link?.linkinfo?.info_kind ?? "device";
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
    const definition = attachedNetworkDefinition(request, labels, keeper);
    const bridge = String(definition.network_interface);
    const kind = await linkKind(bridge);
    if (kind !== "bridge") {
      throw new ProviderError("DEPENDENCY_FAILED", `spec.attachTo: ${kind === undefined ? `there is no interface ${bridge}` : `${bridge} is a ${kind}, not a Linux bridge`} in the provider's network namespace; create the bridge first`);
    }
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
    if ((await linkKind(keeper)) === "tun") await ip(["link", "delete", "dev", keeper]);
  }
}
