import { describe, expect, it } from "vitest";
import { overlaps, parseCidr } from "../../../providers/kit/ipv4.js";
import { overlappingAddress, type HostLink } from "../../../providers/libvirt/net/host.js";

const link = (name: string, ...addresses: string[]): HostLink => ({
  name,
  mtu: 1500,
  up: true,
  kind: "bridge",
  master: undefined,
  addresses: addresses.map((a) => ({ address: a.split("/")[0] ?? "", prefixLength: Number(a.split("/")[1]) })),
});

describe("subnet overlap", () => {
  it("two subnets overlap when either contains the other, whatever their sizes", () => {
    const net = (cidr: string) => parseCidr(cidr, undefined);
    expect(overlaps(net("192.168.100.1/24"), net("192.168.100.77/24"))).toBe(true);
    expect(overlaps(net("192.168.100.1/24"), net("192.168.100.129/25"))).toBe(true);
    expect(overlaps(net("10.1.0.1/16"), net("10.1.200.1/24"))).toBe(true);
    expect(overlaps(net("192.168.100.1/24"), net("192.168.101.1/24"))).toBe(false);
    expect(overlaps(net("192.168.100.1/25"), net("192.168.100.129/25"))).toBe(false);
  });

  it("names the first other interface whose address is in the subnet, and skips the bridge the network joins", () => {
    const links = [link("lo", "127.0.0.1/8"), link("br0", "192.168.100.1/24"), link("virbr3", "10.20.0.1/16")];
    expect(overlappingAddress(parseCidr("192.168.100.50/24", undefined), links, undefined)).toEqual({ link: "br0", address: "192.168.100.1", prefixLength: 24 });
    expect(overlappingAddress(parseCidr("192.168.100.50/24", undefined), links, "br0")).toBeUndefined();
    expect(overlappingAddress(parseCidr("10.20.30.1/24", undefined), links, undefined)).toMatchObject({ link: "virbr3" });
    expect(overlappingAddress(parseCidr("192.168.5.1/24", undefined), links, undefined)).toBeUndefined();
  });
});
