import { describe, expect, it } from "vitest";
import { dnsmasqArgv, parseDnsmasqLeases, readIdentity, sameProcess } from "../../../providers/libvirt/net/dnsmasq.js";
import { planNetwork } from "../../../providers/libvirt/net/plan.js";

const files = { pidFile: "/d/dnsmasq.pid", leaseFile: "/d/dnsmasq.leases", logFile: "/d/dnsmasq.log" };

describe("dnsmasq argv", () => {
  it("DHCP only: no config files, bound to the bridge, DNS off, own pid/lease/log files", () => {
    const argv = dnsmasqArgv({ iface: "8abab3-br", files, plan: planNetwork("dnsmasq", { attachTo: "br0", cidr: "10.77.77.1/24", dhcp: {} }) });
    expect(argv).toEqual(
      expect.arrayContaining([
        "--conf-file=/dev/null",
        "--bind-interfaces",
        "--interface=8abab3-br",
        "--except-interface=lo",
        "--pid-file=/d/dnsmasq.pid",
        "--dhcp-leasefile=/d/dnsmasq.leases",
        "--log-facility=/d/dnsmasq.log",
        "--port=0",
        "--no-ping",
        "--dhcp-range=10.77.77.2,10.77.77.254,255.255.255.0,1h",
        "--dhcp-option=option:router,10.77.77.1",
      ]),
    );
    expect(argv.some((a) => a.startsWith("--enable-tftp"))).toBe(false);
  });

  it("static leases, router, DNS servers, domain and DNS host records", () => {
    const argv = dnsmasqArgv({
      iface: "br",
      files,
      plan: planNetwork("dnsmasq", {
        attachTo: "br0",
        cidr: "10.77.77.1/24",
        dhcp: {
          rangeStart: "10.77.77.50",
          rangeEnd: "10.77.77.99",
          leaseTime: "600",
          router: "10.77.77.254",
          dnsServers: ["10.77.77.1", "9.9.9.9"],
          domain: "lab.test",
          staticLeases: [{ mac: "52:54:00:77:00:01", ip: "10.77.77.10", hostname: "pxe1" }],
        },
        dns: { hosts: [{ hostname: "svc", ip: "10.77.77.3" }], servers: ["1.1.1.1"] },
      }),
    });
    expect(argv).toEqual(
      expect.arrayContaining([
        "--dhcp-range=10.77.77.50,10.77.77.99,255.255.255.0,600",
        "--dhcp-host=52:54:00:77:00:01,10.77.77.10,pxe1",
        "--dhcp-option=option:router,10.77.77.254",
        "--dhcp-option=option:dns-server,10.77.77.1,9.9.9.9",
        "--dhcp-option=option:domain-name,lab.test",
        "--listen-address=10.77.77.1",
        "--no-resolv",
        "--server=1.1.1.1",
        "--host-record=svc,10.77.77.3",
      ]),
    );
    expect(argv).not.toContain("--port=0");
  });

  it("PXE: TFTP root, BIOS and EFI boot files, iPXE chaining to the user script", () => {
    const argv = dnsmasqArgv({
      iface: "br",
      files,
      plan: planNetwork("dnsmasq", {
        attachTo: "br0",
        cidr: "10.77.77.1/24",
        dhcp: {},
        tftp: { root: "/srv/tftp", bootFile: "undionly.kpxe", bootFileEfi: "ipxe.efi", ipxeScript: "boot.ipxe" },
      }),
    });
    expect(argv).toEqual(
      expect.arrayContaining([
        "--enable-tftp",
        "--tftp-root=/srv/tftp",
        "--dhcp-match=set:ipxe,175",
        "--dhcp-match=set:efi64,option:client-arch,7",
        "--dhcp-boot=tag:ipxe,boot.ipxe,,10.77.77.1",
        "--dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,10.77.77.1",
        "--dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,10.77.77.1",
        "--dhcp-option=encap:175,176,1b",
      ]),
    );
  });

  it("router advertisements only when asked (the bridge then has a ULA)", () => {
    const plan = planNetwork("dnsmasq", { attachTo: "br0", cidr: "10.0.0.1/24", dhcp: {}, tftp: { root: "/srv", ipxeScript: "boot.ipxe" } });
    expect(dnsmasqArgv({ iface: "br", files, plan, routerAdvertisements: true })).toEqual(expect.arrayContaining(["--enable-ra", "--dhcp-range=::,constructor:br,ra-only"]));
    expect(dnsmasqArgv({ iface: "br", files, plan })).not.toContain("--enable-ra");
  });

  it("every argument is a single --option (no shell, no spaces to split)", () => {
    const argv = dnsmasqArgv({ iface: "br", files, plan: planNetwork("dnsmasq", { attachTo: "br0", cidr: "10.0.0.1/24", dhcp: {} }) });
    for (const arg of argv) expect(arg).toMatch(/^--[a-z-]+(=\S+)?$/);
  });
});

describe("dnsmasq bookkeeping", () => {
  it("parses lease files by MAC", () => {
    const content = "1795420930 52:54:00:77:00:01 10.77.77.80 * 01:52:54:00:77:00:01\n1795420931 52:54:00:77:00:02 10.77.77.81 host2 *\n";
    expect(parseDnsmasqLeases(content)).toEqual([
      { mac: "52:54:00:77:00:01", ip: "10.77.77.80" },
      { mac: "52:54:00:77:00:02", ip: "10.77.77.81", hostname: "host2" },
    ]);
  });

  it("recognises a live process by pid, start time and argv, and a different one as different", async () => {
    const self = await readIdentity(process.pid);
    expect(self).toBeDefined();
    expect(sameProcess(self!, await readIdentity(process.pid))).toBe(true);
    expect(sameProcess({ ...self!, startTime: "1" }, await readIdentity(process.pid))).toBe(false);
    expect(await readIdentity(2 ** 22 + 12345)).toBeUndefined();
  });
});
