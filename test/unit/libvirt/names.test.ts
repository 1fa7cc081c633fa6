import { describe, expect, it } from "vitest";
import { checkResourceName, deriveBridgeName, deriveMac, deriveUla, normalizeMac } from "../../../providers/libvirt/names.js";

describe("bridge names", () => {
  it("stay within 15 characters and start with the environment prefix", () => {
    for (const prefix of ["8abab3", "8abab361", undefined, "Not-Safe!!", "abcdefghijklmnop"]) {
      const name = deriveBridgeName(`${prefix ?? "x"}-a-very-long-network-name-that-goes-on`, { envPrefix: prefix });
      expect(name.length).toBeLessThanOrEqual(15);
      expect(name).toMatch(/^[a-z0-9-]+$/);
    }
    expect(deriveBridgeName("8abab3-br0", { envPrefix: "8abab3" })).toMatch(/^8abab3-[0-9a-f]{8}$/);
    expect(deriveBridgeName("n", { envPrefix: undefined })).toMatch(/^tvm[0-9a-f]{12}$/);
    expect(deriveBridgeName("n", { bridgePrefix: "lab" })).toMatch(/^lab[0-9a-f]{12}$/);
  });

  it("are unique per network name and stable", () => {
    const names = new Set<string>();
    for (let i = 0; i < 2000; i++) names.add(deriveBridgeName(`8abab3-net-${i}`, { envPrefix: "8abab3" }));
    expect(names.size).toBe(2000);
    expect(deriveBridgeName("x-net", { envPrefix: "x" })).toBe(deriveBridgeName("x-net", { envPrefix: "x" }));
  });
});

describe("MAC addresses", () => {
  it("are deterministic, in QEMU's range and differ per NIC", () => {
    const mac = deriveMac("8abab3-vm", 0);
    expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(deriveMac("8abab3-vm", 0)).toBe(mac);
    expect(deriveMac("8abab3-vm", 1)).not.toBe(mac);
  });

  it("are normalised or rejected", () => {
    expect(normalizeMac("52:54:00:AA:BB:CC", "f")).toBe("52:54:00:aa:bb:cc");
    expect(() => normalizeMac("52-54-00-aa-bb-cc", "spec.mac")).toThrow(/spec.mac/);
  });
});

describe("resource names", () => {
  it.each(["../etc", "a/b", "", "-x", "a b", "a;b"])("rejects %j", (name) => {
    expect(() => checkResourceName("vm", name)).toThrow(/vm name/);
  });
  it("accepts provider-level names", () => {
    expect(checkResourceName("vm", "8abab3-test-vm_1.a")).toBe("8abab3-test-vm_1.a");
  });
});

describe("ULA prefixes", () => {
  it("are fd00::/8 /64 prefixes, stable per network", () => {
    expect(deriveUla("8abab3-pxe")).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{4}:[0-9a-f]{4}:[0-9a-f]{4}$/);
    expect(deriveUla("8abab3-pxe")).toBe(deriveUla("8abab3-pxe"));
    expect(deriveUla("8abab3-pxe")).not.toBe(deriveUla("8abab3-pxe2"));
  });
});
