import { describe, expect, it } from "vitest";
import { libvirtNetworkXml, parseNetworkXml } from "../../../providers/libvirt/net/libvirt-xml.js";
import { parseNetworkMetadata } from "../../../providers/libvirt/net/metadata.js";
import { planNetwork } from "../../../providers/libvirt/net/plan.js";
import { METADATA_NS } from "../../../providers/libvirt/vm/metadata.js";
import { parseWithRealParser } from "./xml-check.js";

const xmlFor = (kind: string, spec: Parameters<typeof planNetwork>[1], bridge = "8abab3-0011aabb") =>
  libvirtNetworkXml({ name: "8abab3-net", plan: planNetwork(kind, spec), bridge });

describe("libvirt network XML", () => {
  it("nat (the default): forward nat, own bridge with STP off, default DHCP pool, no-ping", () => {
    const xml = xmlFor("libvirt", { cidr: "192.168.150.1/24" });
    parseWithRealParser(xml);
    expect(xml).toContain('<forward mode="nat"/>');
    expect(xml).toContain('<bridge name="8abab3-0011aabb" stp="off" delay="0"/>');
    expect(xml).toContain('<ip address="192.168.150.1" netmask="255.255.255.0">');
    expect(xml).toContain('<range start="192.168.150.2" end="192.168.150.254"/>');
    expect(xml).toContain('<dnsmasq:option value="no-ping"/>');
    expect(xml).toContain('xmlns:dnsmasq="http://libvirt.org/schemas/network/dnsmasq/1.0"');
  });

  it("the original's kinds nat and isolated", () => {
    expect(xmlFor("nat", { cidr: "10.1.0.0/16" })).toContain('<forward mode="nat"/>');
    const isolated = xmlFor("isolated", { cidr: "192.168.7.0/24" });
    expect(isolated).not.toContain("<forward");
    expect(isolated).toContain('<ip address="192.168.7.1"');
  });

  it("route", () => {
    expect(xmlFor("libvirt", { cidr: "192.168.8.1/24", forwardMode: "route" })).toContain('<forward mode="route"/>');
  });

  it("bridge: attaches to the existing bridge and carries no addresses", () => {
    const xml = xmlFor("libvirt", { attachTo: "br0", cidr: "192.168.9.1/24", dhcp: { rangeStart: "192.168.9.10", rangeEnd: "192.168.9.20" } }, "8abab3-br");
    expect(xml).toContain('<forward mode="bridge"/>');
    expect(xml).toContain('<bridge name="8abab3-br"/>');
    expect(xml).not.toContain("<ip");
  });

  it("DHCP range, lease time, static leases, DNS hosts, TFTP root and bootp file", () => {
    const xml = xmlFor("libvirt", {
      cidr: "192.168.10.1/24",
      mtu: 1400,
      dhcp: {
        rangeStart: "192.168.10.50",
        rangeEnd: "192.168.10.99",
        leaseTime: "1h",
        staticLeases: [{ mac: "52:54:00:AA:00:01", ip: "192.168.10.5", hostname: "fixed" }],
      },
      dns: { hosts: [{ hostname: "svc.lab", ip: "192.168.10.7" }], domain: "lab" },
      tftp: { root: "/srv/tftp", bootFile: "pxelinux.0", bootFileEfi: "ipxe.efi", ipxeScript: "boot.ipxe" },
    });
    parseWithRealParser(xml);
    expect(xml).toContain('<mtu size="1400"/>');
    expect(xml).toMatch(/<range start="192.168.10.50" end="192.168.10.99">\s*<lease expiry="60" unit="minutes"\/>/);
    expect(xml).toContain('<host mac="52:54:00:aa:00:01" ip="192.168.10.5" name="fixed"/>');
    expect(xml).toMatch(/<host ip="192.168.10.7">\s*<hostname>svc.lab<\/hostname>/);
    expect(xml).toContain('<domain name="lab" localOnly="yes"/>');
    expect(xml).toContain('<tftp root="/srv/tftp"/>');
    expect(xml).toContain('<bootp file="pxelinux.0" server="192.168.10.1"/>');
    expect(xml).toContain('<dnsmasq:option value="dhcp-boot=tag:efi64,ipxe.efi,,192.168.10.1"/>');
    expect(xml).toContain('<dnsmasq:option value="dhcp-boot=tag:ipxe,boot.ipxe,,192.168.10.1"/>');
  });

  it("parses what get reports from libvirt's XML", () => {
    const dumped = `<network>\n  <name>n</name>\n  <uuid>1b4e28ba-2fa1-11d2-883f-0016d3cca427</uuid>\n  <forward mode='nat'/>\n  <bridge name='virbr9' stp='off' delay='0'/>\n  <ip address='192.168.1.1' netmask='255.255.255.0'/>\n</network>`;
    expect(parseNetworkXml(dumped)).toEqual({ uuid: "1b4e28ba-2fa1-11d2-883f-0016d3cca427", bridge: "virbr9", address: "192.168.1.1", netmask: "255.255.255.0", forward: "nat" });
  });
});

describe("network plan validation", () => {
  it.each([
    ["podman", {}, /unsupported network kind "podman"/],
    ["libvirt", {}, /spec.cidr/],
    ["libvirt", { cidr: "192.168.1.0/24", forwardMode: "bridge" as const }, /attachTo/],
    ["libvirt", { cidr: "192.168.1.0/24", attachTo: "br0", forwardMode: "nat" as const }, /only forwardMode bridge/],
    ["nat", { cidr: "192.168.1.0/24", forwardMode: "route" as const }, /means forwardMode nat/],
    ["dnsmasq", { cidr: "192.168.1.0/24" }, /attachTo/],
    ["bridge", { cidr: "192.168.1.0/24", dhcp: {} }, /serves nothing itself/],
    ["libvirt", { cidr: "192.168.1.0/33" }, /not an IPv4 CIDR/],
    ["libvirt", { cidr: "192.168.1.0/24", dhcp: { rangeStart: "192.168.2.10" } }, /rangeStart: 192.168.2.10 is outside/],
    ["libvirt", { cidr: "192.168.1.0/24", dhcp: { leaseTime: "soon" } }, /leaseTime/],
    ["libvirt", { cidr: "192.168.1.0/24", dhcp: { staticLeases: [{ mac: "zz", ip: "192.168.1.9" }] } }, /staticLeases\[0\].mac/],
    ["libvirt", { cidr: "192.168.1.0/24", dhcp: {}, tftp: { root: "/srv", bootFile: "../../etc/passwd" } }, /bootFile/],
    ["libvirt", { cidr: "192.168.1.0/24", dns: { hosts: [{ hostname: "a<b", ip: "192.168.1.2" }] } }, /not a valid host name/],
    ["dnsmasq", { cidr: "192.168.1.0/24", attachTo: "br0", tftp: { root: "/srv", bootFile: "x" } }, /needs DHCP/],
  ])("%s %j → INVALID_SPEC", (kind, spec, message) => {
    expect(() => planNetwork(kind, spec)).toThrow(message);
  });

  it("gateway defaults to the CIDR's host part, else network + 1", () => {
    expect(planNetwork("libvirt", { cidr: "192.168.100.1/24" }).ip?.gateway).toBe("192.168.100.1");
    expect(planNetwork("libvirt", { cidr: "192.168.100.0/24" }).ip?.gateway).toBe("192.168.100.1");
    expect(planNetwork("libvirt", { cidr: "192.168.100.0/24", gateway: "192.168.100.254" }).ip?.gateway).toBe("192.168.100.254");
  });
});

describe("libvirt network <metadata>", () => {
  const owner = { testID: "test-unit-20260101-aaaaaaaa", prefix: "8abab3", stateDir: '/state/<x>"&y' };

  it("names the owner, escaped, in both the bridged and the routed form, and reads back only for its own network", () => {
    for (const [kind, spec] of [["libvirt", { cidr: "192.168.150.1/24" }], ["libvirt", { forwardMode: "bridge" as const, attachTo: "br0" }]] as const) {
      const xml = libvirtNetworkXml({ name: "8abab3-net", plan: planNetwork(kind, spec), bridge: "8abab3-0011aabb", owner });
      parseWithRealParser(xml);
      expect(xml).toContain(`<testenv:network xmlns:testenv="${METADATA_NS}" testID="${owner.testID}" prefix="8abab3">`);
      expect(xml).not.toContain('<x>"&y');
      expect(parseNetworkMetadata(xml, "8abab3-net")).toEqual({ version: 1, name: "8abab3-net", ...owner });
      expect(parseNetworkMetadata(xml, "other-net")).toBeUndefined();
    }
  });

  it("is left out when the process knows no environment, and a foreign network has none", () => {
    expect(xmlFor("libvirt", { cidr: "192.168.150.1/24" })).not.toContain("<metadata>");
    expect(libvirtNetworkXml({ name: "n", plan: planNetwork("libvirt", { cidr: "10.0.0.0/24" }), bridge: "b", owner: {} })).not.toContain("<metadata>");
    expect(parseNetworkMetadata("<network><name>default</name></network>", "default")).toBeUndefined();
  });

  it("is read back as libvirt writes it (single quotes, another prefix)", () => {
    const dumped = `<network><name>n1</name><metadata><tvm:network xmlns:tvm='${METADATA_NS}'>{&quot;version&quot;:1,&quot;name&quot;:&quot;n1&quot;,&quot;testID&quot;:&quot;t1&quot;}</tvm:network></metadata></network>`;
    expect(parseNetworkMetadata(dumped, "n1")).toEqual({ version: 1, name: "n1", testID: "t1" });
  });
});
