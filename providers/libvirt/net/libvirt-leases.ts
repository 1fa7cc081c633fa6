import type { Lease } from "../backend.js";

// libvirt's own DHCP leases on a NAT, route or isolated network, read the way `virsh net-dhcp-leases` reads them:
// from the status file libvirt's lease helper keeps for the network's bridge. A file read instead of a virsh
// process per poll, so an address is noticed within one short poll and the polling takes no CPU from the booting
// guest.

/** Where the system daemon keeps a network's dnsmasq files (libvirt's localstatedir on Debian). */
export const LIBVIRT_DNSMASQ_DIR = "/var/lib/libvirt/dnsmasq";

export function libvirtLeaseStatusFile(bridge: string): string {
  return `${LIBVIRT_DNSMASQ_DIR}/${bridge}.status`;
}

/** The dnsmasq config libvirt writes when it starts the network: present means its status file is ours to read. */
export function libvirtDnsmasqConfFile(network: string): string {
  return `${LIBVIRT_DNSMASQ_DIR}/${network}.conf`;
}

interface StatusEntry {
  "ip-address"?: unknown;
  "mac-address"?: unknown;
  hostname?: unknown;
}

/** The status file's JSON array of leases; anything it does not understand is skipped. */
export function parseLibvirtLeaseStatus(content: string): Lease[] {
  if (content.trim() === "") return [];
  let entries: unknown;
  try {
    entries = JSON.parse(content);
  } catch {
    return [];
  }
  if (!Array.isArray(entries)) return [];
  const leases: Lease[] = [];
  for (const entry of entries as (StatusEntry | null)[]) {
    if (typeof entry !== "object" || entry === null) continue;
    const ip = entry["ip-address"];
    const mac = entry["mac-address"];
    if (typeof ip !== "string" || typeof mac !== "string" || !/^[0-9a-f:]{17}$/i.test(mac) || ip.includes(":")) continue;
    leases.push({ mac: mac.toLowerCase(), ip, ...(typeof entry.hostname === "string" && entry.hostname !== "" ? { hostname: entry.hostname } : {}) });
  }
  return leases;
}
