import { describe, expect, it } from "vitest";
import { probeBootSector } from "../../../providers/libvirt/accel.js";
import { parseDomifaddr, parseLeaseTable } from "../../../providers/libvirt/backend.js";
import { parseIpJson } from "../../../providers/libvirt/net/host.js";
import { parseCidr, defaultRange } from "../../../providers/kit/ipv4.js";
import { parseSize } from "../../../providers/libvirt/vm/disk.js";
import { consoleTail, parseDuration } from "../../../providers/libvirt/vm/readiness.js";
import { shellQuote } from "../../../providers/libvirt/vms.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("parsers", () => {
  it("virsh net-dhcp-leases", () => {
    const out = ` 2026-11-23 09:00:00   52:54:00:aa:bb:cc   ipv4       192.168.150.23/24   tiny        01:52:54:00:aa:bb:cc\n 2026-11-23 09:00:00   52:54:00:aa:bb:cd   ipv4       192.168.150.24/24   -           -\n`;
    expect(parseLeaseTable(out)).toEqual([
      { mac: "52:54:00:aa:bb:cc", ip: "192.168.150.23", hostname: "tiny" },
      { mac: "52:54:00:aa:bb:cd", ip: "192.168.150.24" },
    ]);
  });

  it("virsh domifaddr", () => {
    const out = ` vnet0      52:54:00:aa:bb:cc    ipv4         192.168.150.23/24\n -          -                    ipv6         fe80::1/64\n lo         00:00:00:00:00:00    ipv4         127.0.0.1/8\n`;
    expect(parseDomifaddr(out)).toEqual([{ mac: "52:54:00:aa:bb:cc", ip: "192.168.150.23" }]);
  });

  it("ip -j addr", () => {
    const out = JSON.stringify([{ ifname: "br0", mtu: 1500, flags: ["BROADCAST", "UP"], linkinfo: { info_kind: "bridge" }, addr_info: [{ family: "inet", local: "10.0.0.1", prefixlen: 24 }, { family: "inet6", local: "fe80::1", prefixlen: 64 }] }]);
    expect(parseIpJson(out)).toEqual([{ name: "br0", mtu: 1500, up: true, kind: "bridge", master: undefined, addresses: [{ address: "10.0.0.1", prefixLength: 24 }] }]);
  });

  it("sizes and durations", () => {
    expect(parseSize("10G")).toBe(10 * 1024 ** 3);
    expect(parseSize("512M")).toBe(512 * 1024 ** 2);
    expect(parseSize("2GiB")).toBe(2 * 1024 ** 3);
    expect(() => parseSize("big")).toThrow(/not a size/);
    expect(parseDuration("3m", 1, "f")).toBe(180_000);
    expect(parseDuration("1m30s", 1, "f")).toBe(90_000);
    expect(parseDuration(undefined, 42, "f")).toBe(42);
    expect(parseDuration("", 42, "f")).toBe(42);
    expect(() => parseDuration("soon", 1, "spec.readiness.ssh.timeout")).toThrow(/spec.readiness.ssh.timeout/);
  });

  it("CIDR maths", () => {
    const net = parseCidr("10.77.77.1/24", undefined);
    expect(net).toMatchObject({ gateway: "10.77.77.1", netmask: "255.255.255.0", network: "10.77.77.0", broadcast: "10.77.77.255" });
    expect(defaultRange(net)).toEqual({ start: "10.77.77.2", end: "10.77.77.254" });
    expect(() => parseCidr("10.0.0.1/24", "10.0.1.1")).toThrow(/outside/);
  });
});

describe("console tail", () => {
  it("strips ANSI escapes and keeps the last lines", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tail-")), "vm.console");
    writeFileSync(file, `${Array.from({ length: 30 }, (_, i) => `\u001b[2J\u001b[01;01Hline ${i}\r`).join("\n")}\n`);
    const tail = await consoleTail(file, 3);
    expect(tail).toBe("line 27\nline 28\nline 29");
    expect(await consoleTail(join(tmpdir(), "does-not-exist.console"))).toBe("");
  });
});

describe("KVM probe payload", () => {
  it("is a boot sector that writes to isa-debug-exit", () => {
    const sector = probeBootSector();
    expect(sector.length).toBe(512);
    expect([sector[510], sector[511]]).toEqual([0x55, 0xaa]);
    expect([...sector.subarray(0, 4)]).toEqual([0xb0, 0x01, 0xe6, 0xf4]);
  });
});

describe("sshCommand quoting", () => {
  it("leaves plain paths alone and quotes the rest for a POSIX shell", () => {
    expect(shellQuote("/tmp/keys/8abab3-vm-ssh")).toBe("/tmp/keys/8abab3-vm-ssh");
    expect(shellQuote("/tmp/my keys/it's")).toBe("'/tmp/my keys/it'\\''s'");
  });
});
