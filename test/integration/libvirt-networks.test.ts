import { afterAll, beforeAll, expect, it } from "vitest";
import { describeIfTestHost } from "../helpers/testhost.js";
import { addresses, dnsmasqProcesses, leaks, links, networks, newEnv, startProvider, tearDown, type ProviderProcess } from "./libvirt-support.js";

// The provider process against real libvirt and the real host: every tool for keys and networks,
// every key type and network kind, the error codes over the wire, and get/list from a fresh process.

describeIfTestHost("libvirt provider: keys and networks", () => {
  const env = newEnv("net");
  let provider: ProviderProcess;
  const { name } = env;

  beforeAll(async () => {
    provider = await startProvider(env);
  });
  afterAll(() => tearDown(env, provider, { networks: ["lv-bridged", "dm", "nat", "nat2", "iso", "route", "br", "br2"] }));

  it("capabilities list every kind and key type", async () => {
    const result = await provider.call("provider_capabilities");
    expect(result.success).toBe(true);
    expect(result.resource).toMatchObject({ providerName: "libvirt" });
    const network = (result.resource as { resources: { kind: string; networkKinds?: string[]; keyTypes?: string[] }[] }).resources.find((r) => r.kind === "network");
    expect(network?.networkKinds).toEqual(expect.arrayContaining(["bridge", "libvirt", "dnsmasq", "nat", "isolated"]));
  });

  it("keys: every type, ALREADY_EXISTS, get/list from a fresh process, delete, NOT_FOUND", async () => {
    for (const [type, bits] of [["ed25519", undefined], ["rsa", 2048], ["ecdsa", 384]] as const) {
      const created = await provider.call("key_create", { name: name(`key-${type}`), spec: { type, ...(bits ? { bits } : {}), comment: "it" } });
      expect(created.success, JSON.stringify(created.error)).toBe(true);
      expect(created.resource).toMatchObject({ type, fingerprint: expect.stringMatching(/^SHA256:/) });
    }
    const again = await provider.call("key_create", { name: name("key-ed25519"), spec: { type: "ed25519" } });
    expect(again.error?.code).toBe("ALREADY_EXISTS");

    await using fresh = await startProvider(env);
    const got = await fresh.call("key_get", { name: name("key-rsa") });
    expect(got.resource).toMatchObject({ name: name("key-rsa"), type: "rsa" });
    const listed = await fresh.call("key_list", {});
    expect((listed.resource as { name: string }[]).map((k) => k.name).sort()).toEqual([name("key-ecdsa"), name("key-ed25519"), name("key-rsa")]);
    for (const type of ["ed25519", "rsa", "ecdsa"]) expect((await fresh.call("key_delete", { name: name(`key-${type}`) })).success).toBe(true);
    expect((await fresh.call("key_delete", { name: name("key-rsa") })).error?.code).toBe("NOT_FOUND");
    expect((await fresh.call("key_get", { name: name("key-rsa") })).error?.code).toBe("NOT_FOUND");
  });

  it("bridge: a real Linux bridge with the address and MTU; name ≤ 15 chars; ALREADY_EXISTS", async () => {
    const created = await provider.call("network_create", { name: name("br"), kind: "bridge", spec: { cidr: "192.168.211.1/24", mtu: 1400 } });
    expect(created.success, JSON.stringify(created.error)).toBe(true);
    const state = created.resource as { interfaceName: string; ip: string; status: string };
    expect(state.interfaceName.length).toBeLessThanOrEqual(15);
    expect(state.interfaceName.startsWith(env.prefix)).toBe(true);
    expect(state).toMatchObject({ ip: "192.168.211.1", status: "active", kind: "bridge" });
    expect(links()).toContain(state.interfaceName);
    expect(addresses(state.interfaceName)).toEqual(["192.168.211.1/24"]);
    expect((await provider.call("network_create", { name: name("br"), kind: "bridge", spec: {} })).error?.code).toBe("ALREADY_EXISTS");
  });

  it("libvirt networks: nat, isolated, route — defined, active, listed from a fresh process", async () => {
    const specs = [
      ["nat", "libvirt", { cidr: "192.168.212.1/24", dhcp: { staticLeases: [{ mac: "52:54:00:00:21:01", ip: "192.168.212.9" }] }, dns: { hosts: [{ hostname: "svc", ip: "192.168.212.3" }] } }],
      ["iso", "isolated", { cidr: "192.168.213.0/24" }],
      ["route", "libvirt", { cidr: "192.168.214.1/24", forwardMode: "route" }],
    ] as const;
    for (const [n, kind, spec] of specs) {
      const created = await provider.call("network_create", { name: name(n), kind, spec });
      expect(created.success, JSON.stringify(created.error)).toBe(true);
      expect(created.resource).toMatchObject({ status: "active", kind, uuid: expect.any(String) });
    }
    expect(networks()).toEqual(expect.arrayContaining([name("nat"), name("iso"), name("route")]));
    expect((await provider.call("network_create", { name: name("nat"), kind: "libvirt", spec: { cidr: "192.168.215.1/24" } })).error?.code).toBe("ALREADY_EXISTS");

    await using fresh = await startProvider(env);
    const listed = (await fresh.call("network_list", {})).resource as { name: string; kind: string }[];
    expect(listed.map((n) => n.name)).toEqual(expect.arrayContaining([name("br"), name("nat"), name("iso"), name("route")]));
    expect((await fresh.call("network_get", { name: name("iso") })).resource).toMatchObject({ kind: "isolated", ip: "192.168.213.1" });
  });

  it("libvirt network attached to the bridge (forward bridge) with DHCP gets a companion dnsmasq", async () => {
    const created = await provider.call("network_create", {
      name: name("lv-bridged"),
      kind: "libvirt",
      spec: { attachTo: "br", cidr: "192.168.211.1/24", dhcp: { rangeStart: "192.168.211.10", rangeEnd: "192.168.211.50" } },
    });
    expect(created.success, JSON.stringify(created.error)).toBe(true);
    const state = created.resource as { interfaceName: string; pid: number };
    const bridge = ((await provider.call("network_get", { name: name("br") })).resource as { interfaceName: string }).interfaceName;
    expect(state.interfaceName).toBe(bridge);
    expect(dnsmasqProcesses(env.dataDir)).toContain(state.pid);
    // The bridge is in use by the network attached to it.
    expect((await provider.call("network_delete", { name: name("br") })).error?.code).toBe("RESOURCE_BUSY");
  });

  it("dnsmasq: a standalone process on the bridge that survives the provider, stopped and cleaned on delete", async () => {
    const created = await provider.call("network_create", {
      name: name("dm"),
      kind: "dnsmasq",
      spec: { attachTo: name("br"), cidr: "192.168.211.1/24", dhcp: { rangeStart: "192.168.211.100", rangeEnd: "192.168.211.150" }, dns: { hosts: [{ hostname: "a", ip: "192.168.211.5" }] } },
    });
    // Two DHCP servers on one bridge would fight; here the bridged libvirt network's dnsmasq owns DHCP, so delete it first.
    expect(created.success, JSON.stringify(created.error)).toBe(true);
    const pid = (created.resource as { pid: number }).pid;
    await provider.close();
    provider = await startProvider(env);
    expect(dnsmasqProcesses(env.dataDir)).toContain(pid);
    expect((await provider.call("network_get", { name: name("dm") })).resource).toMatchObject({ status: "active", pid });
    expect((await provider.call("network_delete", { name: name("dm") })).success).toBe(true);
    expect(dnsmasqProcesses(env.dataDir)).not.toContain(pid);
    expect((await provider.call("network_delete", { name: name("dm") })).error?.code).toBe("NOT_FOUND");
  });

  it("a subnet another interface of the host already has is refused before anything is made", async () => {
    const bridge = (await provider.call("network_get", { name: name("br") })).resource as { interfaceName: string };
    const before = links();
    const overBridge = await provider.call("network_create", { name: name("br2"), kind: "bridge", spec: { cidr: "192.168.211.77/24" } });
    expect(overBridge.error).toMatchObject({ code: "INVALID_SPEC", message: expect.stringContaining(`overlaps 192.168.211.1/24 on interface ${bridge.interfaceName}`) });
    const overNat = await provider.call("network_create", { name: name("nat2"), kind: "libvirt", spec: { cidr: "192.168.212.129/25" } });
    expect(overNat.error).toMatchObject({ code: "INVALID_SPEC", message: expect.stringContaining("overlaps 192.168.212.1/24") });
    expect(links()).toEqual(before);
    expect(networks()).not.toContain(name("nat2"));
    expect((await provider.call("network_get", { name: name("br2") })).error?.code).toBe("NOT_FOUND");
  });

  it("delete everything: nothing with the prefix is left", async () => {
    for (const n of ["lv-bridged", "nat", "iso", "route", "br"]) {
      const result = await provider.call("network_delete", { name: name(n) });
      expect(result.success, `${n}: ${JSON.stringify(result.error)}`).toBe(true);
    }
    expect((await provider.call("network_get", { name: name("nat") })).error?.code).toBe("NOT_FOUND");
    expect((await provider.call("network_list", {})).resource).toEqual([]);
    expect(leaks(env)).toEqual([]);
  });

  it("invalid specs come back as INVALID_SPEC over the wire", async () => {
    const result = await provider.call("network_create", { name: name("bad"), kind: "podman", spec: {} });
    expect(result.error).toMatchObject({ code: "INVALID_SPEC", message: expect.stringContaining("podman") });
  });
});
