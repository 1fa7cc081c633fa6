import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Lease, LibvirtBackend } from "../../../providers/libvirt/backend.js";
import { checkReservation, dhcpHosts, release, reserve } from "../../../providers/libvirt/vm/fixed-ip.js";

const DEFAULT_NETWORK = `<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
      <host mac='52:54:00:aa:bb:cc' name='printer' ip='192.168.122.9'/>
    </dhcp>
  </ip>
</network>`;

// The network's DHCP hosts as libvirt would hold them after net-update; everything else answers like libvirt.
class NetworkBackend {
  hosts: string[] = [];
  leases: Lease[] = [];
  constructor(private readonly xml: string | undefined) {}
  networkXml = (): Promise<string | undefined> => Promise.resolve(this.xml?.replace("</dhcp>", `${this.hosts.join("\n")}</dhcp>`));
  networkLeases = (): Promise<Lease[]> => Promise.resolve(this.leases);
  addDhcpHost = (_network: string, xml: string): Promise<void> => {
    this.hosts.push(xml);
    return Promise.resolve();
  };
  removeDhcpHost = (_network: string, xml: string): Promise<void> => {
    const mac = /mac="([^"]+)"/.exec(xml)?.[1] ?? "";
    this.hosts = this.hosts.filter((host) => !host.includes(mac));
    return Promise.resolve();
  };
}

const backend = (fake: NetworkBackend) => fake as unknown as LibvirtBackend;
const MAC = "52:54:00:12:34:56";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fixed-ip-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("DHCP reservations for spec.fixedIPs", () => {
  it("reads a network's DHCP host entries", () => {
    expect(dhcpHosts(DEFAULT_NETWORK)).toEqual([{ mac: "52:54:00:aa:bb:cc", name: "printer", ip: "192.168.122.9" }]);
  });

  it("accepts a free host address of a netmask-style network", async () => {
    await expect(checkReservation(backend(new NetworkBackend(DEFAULT_NETWORK)), { network: "default", mac: MAC, ip: "192.168.122.50" })).resolves.toBeUndefined();
  });

  it.each([
    ["outside the subnet", "10.0.0.5", "INVALID_SPEC", /is not a host address of "default" \(192\.168\.122\.0\/24, gateway 192\.168\.122\.1\)/],
    ["the gateway", "192.168.122.1", "INVALID_SPEC", /is not a host address/],
    ["the broadcast address", "192.168.122.255", "INVALID_SPEC", /is not a host address/],
    ["reserved for another host", "192.168.122.9", "ALREADY_EXISTS", /already reserved on "default" for printer/],
    ["not an address", "192.168.122", "INVALID_SPEC", /is not an IPv4 address/],
  ])("refuses %s, naming spec.fixedIPs.<network>", async (_what, ip, code, says) => {
    const error = await checkReservation(backend(new NetworkBackend(DEFAULT_NETWORK)), { network: "default", mac: MAC, ip }).catch((e: unknown) => e as { code: string; message: string });
    expect(error).toMatchObject({ code });
    expect((error as { message: string }).message).toMatch(/^spec\.fixedIPs\.default: /);
    expect((error as { message: string }).message).toMatch(says);
  });

  it("refuses an address another machine holds a lease for, but not a lease of this VM's own MAC", async () => {
    const fake = new NetworkBackend(DEFAULT_NETWORK);
    fake.leases = [{ mac: MAC, ip: "192.168.122.50" }, { mac: "52:54:00:00:00:99", ip: "192.168.122.60" }];
    await expect(checkReservation(backend(fake), { network: "default", mac: MAC, ip: "192.168.122.50" })).resolves.toBeUndefined();
    await expect(checkReservation(backend(fake), { network: "default", mac: MAC, ip: "192.168.122.60" })).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
  });

  it("refuses a host bridge and a network without DHCP", async () => {
    await expect(checkReservation(backend(new NetworkBackend(undefined)), { network: "br0", mac: MAC, ip: "192.168.1.5" })).rejects.toThrow(/is a host bridge, so configure the address in the guest/);
    const noDhcp = DEFAULT_NETWORK.replace(/<dhcp>[\s\S]*<\/dhcp>/, "");
    await expect(checkReservation(backend(new NetworkBackend(noDhcp)), { network: "default", mac: MAC, ip: "192.168.122.50" })).rejects.toThrow(/serves no DHCP/);
  });

  it("records before it reserves, and release removes exactly what was recorded", async () => {
    const fake = new NetworkBackend(DEFAULT_NETWORK);
    await reserve(backend(fake), dir, [{ network: "default", mac: MAC, ip: "192.168.122.50" }], "web");
    expect(fake.hosts).toEqual([`<host mac="${MAC}" name="web" ip="192.168.122.50"/>`]);
    expect(await readdir(dir)).toEqual(["dhcp-reservations.json"]);
    await release(backend(fake), dir);
    expect(fake.hosts).toEqual([]);
    expect(dhcpHosts((await fake.networkXml()) ?? "")).toEqual([{ mac: "52:54:00:aa:bb:cc", name: "printer", ip: "192.168.122.9" }]);
    expect(await readdir(dir)).toEqual([]);
    await expect(release(backend(fake), dir)).resolves.toBeUndefined();
  });
});
