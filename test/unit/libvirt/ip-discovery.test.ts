import { describe, expect, it } from "vitest";
import type { LibvirtBackend } from "../../../providers/libvirt/backend.js";
import { discoverIps, type LeaseSource, type NicInfo } from "../../../providers/libvirt/vm/ip.js";

// The order of the sources, and which of them a fast poll may skip: leases are a file read, libvirt's ARP and
// agent answers are a virsh process each.

const nics: NicInfo[] = [
  { network: "net", mac: "52:54:00:00:00:01", iface: "br0", staticIp: undefined },
  { network: "net", mac: "52:54:00:00:00:02", iface: "br0", staticIp: "192.0.2.9" },
];

function sources(leased: Record<string, string>, arp: Record<string, string>): { backend: LibvirtBackend; leases: LeaseSource; asked: string[] } {
  const asked: string[] = [];
  const backend = {
    domainAddresses: (_domain: string, source: string) => {
      asked.push(source);
      return Promise.resolve(source === "arp" ? Object.entries(arp).map(([mac, ip]) => ({ mac, ip })) : []);
    },
  } as unknown as LibvirtBackend;
  const leases: LeaseSource = { leasesFor: () => Promise.resolve(Object.entries(leased).map(([mac, ip]) => ({ mac, ip }))) };
  return { backend, leases, asked };
}

describe("IP discovery", () => {
  it("takes each NIC's lease, then asks libvirt's ARP and agent sources for the rest, then the static address", async () => {
    const { backend, leases, asked } = sources({ "52:54:00:00:00:01": "192.0.2.10" }, {});
    expect(await discoverIps(backend, leases, "vm", nics, { useStatic: true })).toEqual(["192.0.2.10", "192.0.2.9"]);
    expect(asked).toEqual(["arp", "agent"]);
  });

  it("stops at ARP when ARP answers every NIC", async () => {
    const { backend, leases, asked } = sources({}, { "52:54:00:00:00:01": "192.0.2.10", "52:54:00:00:00:02": "192.0.2.11" });
    expect(await discoverIps(backend, leases, "vm", nics, { useStatic: false })).toEqual(["192.0.2.10", "192.0.2.11"]);
    expect(asked).toEqual(["arp"]);
  });

  it("a poll without fallbacks reads the leases only and starts no virsh", async () => {
    const { backend, leases, asked } = sources({ "52:54:00:00:00:01": "192.0.2.10" }, { "52:54:00:00:00:02": "192.0.2.11" });
    expect(await discoverIps(backend, leases, "vm", nics, { useStatic: false, fallbacks: false })).toEqual(["192.0.2.10", undefined]);
    expect(asked).toEqual([]);
  });
});
