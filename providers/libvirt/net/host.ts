import { ProviderError } from "../../kit/index.js";
import { ipToNumber, numberToIp, overlaps, type Ipv4Network } from "../../kit/ipv4.js";
import { run, type RunOptions, type RunResult } from "../exec.js";

/** Runs argv where the links are: lib/run here, or a remote libvirt host's run. */
export type Runner = (command: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

/** runOrFail through a runner: a failure is a PROVIDER_ERROR that says what we were doing. */
async function must(runner: Runner, what: string, command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  try {
    return await runner(command, args, options);
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    throw new ProviderError("PROVIDER_ERROR", `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

// Host networking through `ip` (iproute2), JSON output only.

export interface HostLink {
  name: string;
  mtu: number | undefined;
  up: boolean;
  kind: string | undefined;
  /** The bridge this interface is enslaved to. */
  master: string | undefined;
  addresses: { address: string; prefixLength: number }[];
}

interface IpJsonLink {
  ifname?: string;
  mtu?: number;
  operstate?: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

export function parseIpJson(output: string): HostLink[] {
  const parsed = JSON.parse(output || "[]") as IpJsonLink[];
  return parsed
    .filter((entry) => typeof entry.ifname === "string")
    .map((entry) => ({
      name: entry.ifname ?? "",
      mtu: entry.mtu,
      up: (entry.flags ?? []).includes("UP"),
      kind: entry.linkinfo?.info_kind,
      master: entry.master,
      addresses: (entry.addr_info ?? [])
        .filter((a) => a.family === "inet" && typeof a.local === "string")
        .map((a) => ({ address: a.local ?? "", prefixLength: a.prefixlen ?? 32 })),
    }));
}

export async function getLink(name: string, runner: Runner = run): Promise<HostLink | undefined> {
  try {
    const { stdout } = await runner("ip", ["-j", "-d", "addr", "show", "dev", name], { timeoutMs: 15_000 });
    return parseIpJson(stdout)[0];
  } catch {
    return undefined; // "Device does not exist"
  }
}

export async function listLinks(runner: Runner = run): Promise<HostLink[]> {
  const { stdout } = await must(runner, "listing host interfaces", "ip", ["-j", "-d", "addr", "show"], { timeoutMs: 15_000 });
  return parseIpJson(stdout);
}

/**
 * The first address on another host interface whose subnet overlaps `subnet`: two interfaces routing the same
 * addresses make the host answer from either, so a guest's traffic goes astray. `except` is the interface the
 * network is on itself (a bridge it attaches to).
 */
export function overlappingAddress(
  subnet: Pick<Ipv4Network, "network" | "prefixLength">,
  links: readonly HostLink[],
  except: string | undefined,
): { link: string; address: string; prefixLength: number } | undefined {
  for (const link of links) {
    if (link.name === except) continue;
    for (const address of link.addresses) {
      const network = numberToIp((ipToNumber(address.address) & ((0xffffffff << (32 - address.prefixLength)) >>> 0)) >>> 0);
      if (address.prefixLength > 0 && overlaps(subnet, { network, prefixLength: address.prefixLength })) return { link: link.name, ...address };
    }
  }
  return undefined;
}

export async function createBridge(name: string, mtu: number | undefined, runner: Runner = run): Promise<void> {
  // STP off and no forward delay: a fresh guest NIC forwards at once instead of after 15 s of learning.
  await must(runner, `creating bridge ${name}`, "ip", ["link", "add", "name", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"]);
  if (mtu !== undefined) await must(runner, `setting MTU of ${name}`, "ip", ["link", "set", "dev", name, "mtu", String(mtu)]);
}

export async function addAddress(name: string, address: string, prefixLength: number, runner: Runner = run): Promise<void> {
  await must(runner, `adding ${address}/${prefixLength} to ${name}`, "ip", ["addr", "add", `${address}/${prefixLength}`, "dev", name]);
}

/** Adds an IPv6 address without duplicate address detection; false when the host has IPv6 off on that link. */
export async function addIpv6Address(name: string, cidr: string, runner: Runner = run): Promise<boolean> {
  try {
    await runner("ip", ["-6", "addr", "add", cidr, "dev", name, "nodad"]);
    return true;
  } catch {
    return false;
  }
}

export async function removeIpv6Address(name: string, cidr: string, runner: Runner = run): Promise<void> {
  await runner("ip", ["-6", "addr", "del", cidr, "dev", name]).catch(() => undefined);
}

export async function removeAddress(name: string, address: string, prefixLength: number, runner: Runner = run): Promise<void> {
  await runner("ip", ["addr", "del", `${address}/${prefixLength}`, "dev", name]).catch(() => undefined);
}

export async function setUp(name: string, runner: Runner = run): Promise<void> {
  await must(runner, `bringing ${name} up`, "ip", ["link", "set", "dev", name, "up"]);
}

export async function deleteLink(name: string, runner: Runner = run): Promise<void> {
  await must(runner, `deleting interface ${name}`, "ip", ["link", "delete", "dev", name]);
}
