import type { LibvirtBackend } from "../backend.js";

// IP discovery in the order the design names: DHCP leases (ours) by MAC, then libvirt's ARP and agent
// sources, then the static address from the spec.

export interface NicInfo {
  network: string;
  mac: string;
  /** Bridge the NIC plugs into, when known: picks the dnsmasq lease files that apply. */
  iface: string | undefined;
  staticIp: string | undefined;
}

export interface LeaseSource {
  leasesFor(network: string, iface: string | undefined): Promise<{ mac: string; ip: string }[]>;
}

export async function discoverIps(
  backend: LibvirtBackend,
  leases: LeaseSource,
  domain: string,
  nics: readonly NicInfo[],
  options: { useStatic: boolean; fallbacks?: boolean },
): Promise<(string | undefined)[]> {
  const found: (string | undefined)[] = nics.map(() => undefined);
  for (const [index, nic] of nics.entries()) {
    const lease = (await leases.leasesFor(nic.network, nic.iface)).filter((l) => l.mac === nic.mac).at(-1);
    if (lease) found[index] = lease.ip;
  }
  // libvirt's ARP and agent sources are a virsh process each: a caller polling often asks them less often.
  if (options.fallbacks !== false && found.some((ip) => ip === undefined)) {
    for (const source of ["arp", "agent"] as const) {
      const addresses = await backend.domainAddresses(domain, source);
      for (const [index, nic] of nics.entries()) {
        found[index] ??= addresses.find((a) => a.mac === nic.mac)?.ip;
      }
      if (found.every((ip) => ip !== undefined)) break;
    }
  }
  if (options.useStatic) nics.forEach((nic, index) => (found[index] ??= nic.staticIp));
  return found;
}
