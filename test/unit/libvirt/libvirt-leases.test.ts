import { describe, expect, it } from "vitest";
import { libvirtDnsmasqConfFile, libvirtLeaseStatusFile, parseLibvirtLeaseStatus } from "../../../providers/libvirt/net/libvirt-leases.js";

// What libvirt 9's lease helper writes for a network's bridge (the file `virsh net-dhcp-leases` reads).
const STATUS = `[
  {
    "ip-address": "192.168.130.31",
    "mac-address": "52:54:00:AB:cd:01",
    "hostname": "test-vm",
    "client-id": "ff:00:ab:cd:01",
    "expiry-time": 1764627293
  },
  {
    "ip-address": "fd00::10",
    "mac-address": "52:54:00:ab:cd:02",
    "expiry-time": 1764627293
  },
  {
    "ip-address": "192.168.130.32",
    "mac-address": "52:54:00:ab:cd:03",
    "expiry-time": 1764627293
  }
]`;

describe("libvirt's lease status file", () => {
  it("gives the IPv4 lease of each MAC, lower-cased, with the hostname when the guest sent one", () => {
    expect(parseLibvirtLeaseStatus(STATUS)).toEqual([
      { mac: "52:54:00:ab:cd:01", ip: "192.168.130.31", hostname: "test-vm" },
      { mac: "52:54:00:ab:cd:03", ip: "192.168.130.32" },
    ]);
  });

  it("reads an empty, half-written or foreign file as no lease rather than failing the wait", () => {
    expect(parseLibvirtLeaseStatus("")).toEqual([]);
    expect(parseLibvirtLeaseStatus('[{"ip-address": "192.168')).toEqual([]);
    expect(parseLibvirtLeaseStatus('{"leases": []}')).toEqual([]);
    expect(parseLibvirtLeaseStatus('[{"ip-address": 5, "mac-address": "x"}, null]')).toEqual([]);
  });

  it("lives where the system daemon keeps its dnsmasq files, by bridge and by network", () => {
    expect(libvirtLeaseStatusFile("virbr3")).toBe("/var/lib/libvirt/dnsmasq/virbr3.status");
    expect(libvirtDnsmasqConfFile("default")).toBe("/var/lib/libvirt/dnsmasq/default.conf");
  });
});
