import { readFileSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { deriveMac } from "../../providers/libvirt/names.js";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { dnsmasqProcesses, leaks, newEnv, rootSshVm, useProvider, type ProviderKey } from "./libvirt-support.js";

// One VM boot covers three things: a standalone dnsmasq (DHCP with a static lease planned from the
// deterministic MAC, TFTP, iPXE chaining) network-booting a blank-disk VM, and a second NIC on a
// libvirt NAT network, each NIC reported with its own IP and MAC.

describeIfTestHost("libvirt provider: PXE from a dnsmasq network, multi-NIC", () => {
  const env = newEnv("pxe");
  const { name } = env;
  const provider = useProvider(env, { vms: ["pxe"], networks: ["dm", "nat", "br"], keys: ["ssh"] });
  let images: TestImages;
  let key: ProviderKey;

  beforeAll(async () => {
    images = ensureTestImages(["tiny", "pxe"]);
    const created = await provider.call("key_create", { name: name("ssh"), spec: { type: "ecdsa", bits: 256 } });
    expect(created.success, JSON.stringify(created.error)).toBe(true);
    key = created.resource as typeof key;
  });

  it("network-boots a blank-disk VM from dnsmasq's TFTP to SSH, with a second NIC on a libvirt network", async () => {
    const pxeMac = deriveMac(name("pxe"), 0);
    const steps = [
      ["br", "bridge", { cidr: "192.168.231.1/24" }],
      [
        "dm",
        "dnsmasq",
        {
          attachTo: "br",
          cidr: "192.168.231.1/24",
          dhcp: { rangeStart: "192.168.231.100", rangeEnd: "192.168.231.150", staticLeases: [{ mac: pxeMac, ip: "192.168.231.77" }] },
          tftp: { root: images.pxeRoot, bootFile: "pxelinux.0", ipxeScript: "boot.ipxe" },
        },
      ],
      ["nat", "libvirt", { cidr: "192.168.232.1/24" }],
    ] as const;
    for (const [n, kind, spec] of steps) {
      const created = await provider.call("network_create", { name: name(n), kind, spec });
      expect(created.success, `${n}: ${JSON.stringify(created.error)}`).toBe(true);
    }

    const created = await provider.call("vm_create", {
      name: name("pxe"),
      spec: rootSshVm({ networks: [name("br"), name("nat")], key, disk: { size: "64M" }, boot: { order: ["network"] }, cloudInit: { hostname: "pxe-it" }, sshTimeout: "4m" }),
    });
    expect(created.success, JSON.stringify(created.error)).toBe(true);
    const vm = created.resource as { ip: string; mac: string; ips: Record<string, string>; macs: Record<string, string>; consoleOutput: string };
    expect(vm.ip).toBe("192.168.231.77");
    expect(vm.mac).toBe(pxeMac);
    expect(vm.macs).toEqual({ [name("br")]: pxeMac, [name("nat")]: deriveMac(name("pxe"), 1) });
    expect(vm.ips[name("br")]).toBe("192.168.231.77");
    expect(vm.ips[name("nat")]).toMatch(/^192\.168\.232\./);
    expect(readFileSync(vm.consoleOutput, "utf8")).toContain("Linux version");

    const dm = (await provider.call("network_get", { name: name("dm") })).resource as { providerState: { dnsmasq: { leaseFile: string; logFile: string } } };
    expect(readFileSync(dm.providerState.dnsmasq.leaseFile, "utf8")).toContain(`${pxeMac} 192.168.231.77`);
    // The kernel came over TFTP after the iPXE script (the NIC ROM is iPXE, so it got boot.ipxe, not pxelinux.0).
    const log = readFileSync(dm.providerState.dnsmasq.logFile, "utf8");
    expect(log).toMatch(/sent \S*boot\.ipxe to 192\.168\.231\.77/);
    expect(log).toMatch(/sent \S*vmlinuz to 192\.168\.231\.77/);
    // IPv6 router advertisements answer iPXE's router solicitation (otherwise it waits ~16 s before TFTP).
    expect(log).toContain("RTR-ADVERT");

    const out = await sshExec({ host: vm.ip, port: 22, user: "root", privateKey: readFileSync(key.privateKeyPath, "utf8") }, "hostname", 30_000);
    expect(out.stdout.trim()).toBe("pxe-it");
  });

  it("networks the VM uses are busy; deleting the VM, then the networks, leaves nothing", async () => {
    expect((await provider.call("network_delete", { name: name("br") })).error?.code).toBe("RESOURCE_BUSY");
    expect((await provider.call("network_delete", { name: name("nat") })).error?.code).toBe("RESOURCE_BUSY");
    expect((await provider.call("vm_delete", { name: name("pxe") })).success).toBe(true);
    for (const n of ["dm", "nat", "br"]) {
      const result = await provider.call("network_delete", { name: name(n) });
      expect(result.success, `${n}: ${JSON.stringify(result.error)}`).toBe(true);
    }
    expect((await provider.call("key_delete", { name: name("ssh") })).success).toBe(true);
    expect(dnsmasqProcesses(env.dataDir)).toEqual([]);
    expect(leaks(env)).toEqual([]);
  });
});
