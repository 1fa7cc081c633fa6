import { join } from "node:path";
import { readTextIfExists, removeFileDurably, writeJsonAtomic } from "../../../lib/durable-file.js";
import { ProviderError } from "../../kit/index.js";
import type { LibvirtBackend } from "../backend.js";
import { contains, isIpv4, parseCidr } from "../../kit/ipv4.js";
import { parseNetworkXml } from "../net/libvirt-xml.js";
import { el, renderXml, unescapeXml } from "../xml.js";

// spec.fixedIPs: a VM's address on an existing libvirt network, as a DHCP host entry (MAC → IP) added to that
// network and removed with the VM. The guest keeps plain DHCP, so any image gets its address. The entries we
// added are written to the VM's directory before libvirt hears of them, so a delete after a crash anywhere in
// create still finds and removes them.

export interface DhcpReservation {
  network: string;
  mac: string;
  ip: string;
}

const RECORD = "dhcp-reservations.json";

interface DhcpHost {
  mac?: string;
  ip?: string;
  name?: string;
}

/** The `<host>` entries of a network's `<dhcp>`. */
export function dhcpHosts(networkXml: string): DhcpHost[] {
  const dhcp = /<dhcp\b[\s\S]*?<\/dhcp>/.exec(networkXml)?.[0] ?? "";
  return [...dhcp.matchAll(/<host\b([^>]*)\/?>/g)].map((match) => {
    const attrs = match[1] ?? "";
    const attr = (name: string) => {
      const value = new RegExp(`\\b${name}=['"]([^'"]*)['"]`).exec(attrs)?.[1];
      return value === undefined ? undefined : unescapeXml(value);
    };
    const host: DhcpHost = {};
    const mac = attr("mac");
    const ip = attr("ip");
    const name = attr("name");
    if (mac !== undefined) host.mac = mac.toLowerCase();
    if (ip !== undefined) host.ip = ip;
    if (name !== undefined) host.name = name;
    return host;
  });
}

function prefixOfNetmask(netmask: string): number | undefined {
  if (!isIpv4(netmask)) return undefined;
  const bits = netmask.split(".").map((part) => Number(part).toString(2).padStart(8, "0")).join("");
  return /^1*0*$/.test(bits) ? bits.indexOf("0") === -1 ? 32 : bits.indexOf("0") : undefined;
}

function invalid(network: string, message: string): ProviderError {
  return new ProviderError("INVALID_SPEC", `spec.fixedIPs.${network}: ${message}`);
}

/**
 * Checks one reservation against the network as libvirt has it: a libvirt network with DHCP on a subnet that
 * holds the address, and no other host entry or live lease holding it already.
 */
export async function checkReservation(backend: LibvirtBackend, wanted: DhcpReservation): Promise<void> {
  const { network, ip, mac } = wanted;
  if (!isIpv4(ip)) throw invalid(network, `${JSON.stringify(ip)} is not an IPv4 address (expected e.g. 192.168.122.50)`);
  const xml = await backend.networkXml(network);
  if (xml === undefined) throw invalid(network, `a fixed address needs a libvirt network; "${network}" is a host bridge, so configure the address in the guest (cloudInit.networkConfig)`);
  const parsed = parseNetworkXml(xml);
  const prefix = parsed.prefix ?? (parsed.netmask === undefined ? undefined : prefixOfNetmask(parsed.netmask));
  if (!/<dhcp\b/.test(xml) || parsed.address === undefined || prefix === undefined) {
    throw invalid(network, `libvirt network "${network}" serves no DHCP, so it cannot hand out ${ip}; configure the address in the guest instead`);
  }
  const subnet = parseCidr(`${parsed.address}/${prefix}`, parsed.address, `spec.fixedIPs.${network}`);
  if (!contains(subnet, ip) || [subnet.gateway, subnet.network, subnet.broadcast].includes(ip)) {
    throw invalid(network, `${ip} is not a host address of "${network}" (${subnet.network}/${prefix}, gateway ${subnet.gateway}); choose a free one inside it`);
  }
  const holder = dhcpHosts(xml).find((host) => host.ip === ip && host.mac !== mac);
  if (holder !== undefined) {
    throw new ProviderError("ALREADY_EXISTS", `spec.fixedIPs.${network}: ${ip} is already reserved on "${network}" for ${holder.name ?? holder.mac ?? "another host"}; choose another address`);
  }
  const lease = (await backend.networkLeases(network)).find((entry) => entry.ip === ip && entry.mac !== mac);
  if (lease !== undefined) {
    throw new ProviderError("ALREADY_EXISTS", `spec.fixedIPs.${network}: ${ip} is leased on "${network}" to ${lease.mac} right now; choose another address or stop that machine`);
  }
}

function hostXml(reservation: DhcpReservation, hostname?: string): string {
  return renderXml(el("host", { mac: reservation.mac, ...(hostname ? { name: hostname } : {}), ip: reservation.ip })).trim();
}

/** Records, then adds, each reservation. */
export async function reserve(backend: LibvirtBackend, vmDir: string, reservations: readonly DhcpReservation[], hostname: string): Promise<void> {
  if (reservations.length === 0) return;
  await writeJsonAtomic(join(vmDir, RECORD), reservations);
  for (const reservation of reservations) await backend.addDhcpHost(reservation.network, hostXml(reservation, hostname));
}

/** Removes every reservation recorded in the VM's directory (fine when there is none, or libvirt lost it). */
export async function release(backend: LibvirtBackend, vmDir: string): Promise<void> {
  const path = join(vmDir, RECORD);
  const text = await readTextIfExists(path);
  if (text === undefined) return;
  let recorded: DhcpReservation[] = [];
  try {
    recorded = JSON.parse(text) as DhcpReservation[];
  } catch {
    recorded = [];
  }
  for (const reservation of recorded) {
    const xml = await backend.networkXml(reservation.network);
    const present = xml !== undefined && dhcpHosts(xml).some((host) => host.mac === reservation.mac && host.ip === reservation.ip);
    if (present) await backend.removeDhcpHost(reservation.network, hostXml(reservation));
  }
  await removeFileDurably(path);
}
