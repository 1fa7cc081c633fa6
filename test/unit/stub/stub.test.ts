import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NetworkCreateRequest, VMCreateRequest, VMState } from "../../../api/provider.js";
import { callTool, ProviderConfigError, readProviderContext, type ProviderImplementation } from "../../../providers/kit/index.js";
import { StubConfig, readStubConfig } from "../../../providers/stub/config.js";
import { contains, parseCidr, parseIPv4 } from "../../../providers/stub/ipam.js";
import { FileStore, MemoryStore, type StubStore } from "../../../providers/stub/store.js";
import { createStub } from "../../../providers/stub/stub.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "stub-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const PREFIX = "tvm-abc123";

function stub(config: Record<string, unknown> = {}, store: StubStore = new MemoryStore()): ProviderImplementation {
  return createStub({ config: StubConfig.parse(config), store, context: { prefix: PREFIX, artifactDir: dir } });
}

const network = (name: string, spec: NetworkCreateRequest["spec"] = {}, kind = "bridge"): NetworkCreateRequest => ({ name, kind, spec });
const vm = (name: string, networks: string[], extra: Partial<VMCreateRequest["spec"]> = {}): VMCreateRequest => ({
  name,
  spec: { memory: 512, vcpus: 1, networks, disk: { size: "1G" }, boot: { order: ["hd"] }, ...extra },
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code: string }).code;
  }
  return "no error";
}

describe("stub networks", () => {
  it("uses the gateway, the host part of the CIDR, or the first host as the network IP", async () => {
    const s = stub();
    expect((await s.networks!.create(network(`${PREFIX}-a`, { cidr: "10.1.0.0/24" }))).ip).toBe("10.1.0.1");
    expect((await s.networks!.create(network(`${PREFIX}-b`, { cidr: "10.2.0.7/24" }))).ip).toBe("10.2.0.7");
    const c = await s.networks!.create(network(`${PREFIX}-c`, { cidr: "10.3.0.0/24", gateway: "10.3.0.254" }));
    expect(c).toMatchObject({ ip: "10.3.0.254", gateway: "10.3.0.254", cidr: "10.3.0.0/24", status: "ready", kind: "bridge" });
    expect(c.interfaceName!.length).toBeLessThanOrEqual(15);
  });

  it("gives networks without a cidr distinct subnets", async () => {
    const s = stub();
    const cidrs = new Set<string>();
    for (let i = 0; i < 20; i++) cidrs.add((await s.networks!.create(network(`${PREFIX}-n${i}`))).cidr!);
    expect(cidrs.size).toBe(20);
  });

  it("rejects bad specs naming the field", async () => {
    const s = stub();
    await expect(s.networks!.create(network("n", { cidr: "300.1.1.0/24" }))).rejects.toThrow(/spec\.cidr: "300\.1\.1\.0\/24" is not an IPv4 CIDR/);
    await expect(s.networks!.create(network("n", { cidr: "10.0.0.0/24", gateway: "10.9.0.1" }))).rejects.toThrow(/spec\.gateway/);
    await expect(s.networks!.create(network("n", {}, "vxlan"))).rejects.toThrow(/unsupported network kind: vxlan/);
  });

  it("ALREADY_EXISTS, NOT_FOUND, and attachTo within the environment", async () => {
    const s = stub();
    await s.networks!.create(network(`${PREFIX}-br`));
    expect(await codeOf(s.networks!.create(network(`${PREFIX}-br`)))).toBe("ALREADY_EXISTS");
    expect(await codeOf(s.networks!.get("nope"))).toBe("NOT_FOUND");
    expect(await codeOf(s.networks!.delete("nope", false))).toBe("NOT_FOUND");
    expect(await codeOf(s.networks!.create(network(`${PREFIX}-child`, { attachTo: `${PREFIX}-missing` })))).toBe("NOT_FOUND");
    // A host bridge outside the environment is not checked.
    await s.networks!.create(network(`${PREFIX}-host`, { attachTo: "br0" }));
    await s.networks!.create(network(`${PREFIX}-child`, { attachTo: `${PREFIX}-br` }));
    expect(await codeOf(s.networks!.delete(`${PREFIX}-br`, false))).toBe("RESOURCE_BUSY");
  });

  it("allocates VM addresses inside the DHCP range when one is given", async () => {
    const s = stub();
    await s.networks!.create(network("n", { cidr: "10.5.0.1/24", dhcp: { rangeStart: "10.5.0.100", rangeEnd: "10.5.0.110" } }));
    for (let i = 0; i < 11; i++) {
      const address = parseIPv4((await s.vms!.create(vm(`v${i}`, ["n"]))).ip!)!;
      expect(address).toBeGreaterThanOrEqual(parseIPv4("10.5.0.100")!);
      expect(address).toBeLessThanOrEqual(parseIPv4("10.5.0.110")!);
    }
    await expect(s.vms!.create(vm("v-extra", ["n"]))).rejects.toThrow(/no free address left/);
  });
});

describe("stub VMs", () => {
  it("gives deterministic, distinct addresses inside the first network, never the gateway", async () => {
    const run = async (): Promise<VMState[]> => {
      const s = stub();
      await s.networks!.create(network("net", { cidr: "192.168.50.1/28" }));
      await s.networks!.create(network("second", { cidr: "172.20.0.0/29" }));
      const out: VMState[] = [];
      // /28 has 14 hosts, one is the gateway: exactly 13 VMs fit.
      for (let i = 0; i < 13; i++) out.push(await s.vms!.create(vm(`vm-${i}`, i < 5 ? ["net", "second"] : ["net"])));
      await expect(s.vms!.create(vm("vm-13", ["net"]))).rejects.toThrow(/network "net" has no free address left/);
      return out;
    };
    const first = await run();
    const again = await run();
    expect(again.map((v) => [v.ip, v.mac, v.uuid])).toEqual(first.map((v) => [v.ip, v.mac, v.uuid]));
    const subnet = parseCidr("192.168.50.1/28", "x");
    const ips = first.map((v) => v.ip!);
    expect(new Set(ips).size).toBe(13);
    for (const ip of ips) {
      expect(contains(subnet, parseIPv4(ip)!)).toBe(true);
      expect(ip).not.toBe("192.168.50.1");
      expect(ip).not.toBe("192.168.50.0");
      expect(ip).not.toBe("192.168.50.15");
    }
    const second = first.slice(0, 5).map((v) => v.ips!.second!);
    expect(new Set(second).size).toBe(5);
    expect(new Set(first.flatMap((v) => Object.values(v.macs!))).size).toBe(18);
    expect(first[0]).toMatchObject({ status: "running", ips: { net: first[0]!.ip }, macs: { net: first[0]!.mac } });
    expect(first[0]!.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  it("frees an address when its VM is deleted", async () => {
    const s = stub();
    await s.networks!.create(network("n", { cidr: "10.0.0.0/30" }));
    const a = await s.vms!.create(vm("a", ["n"]));
    await expect(s.vms!.create(vm("b", ["n"]))).rejects.toThrow(/no free address/);
    await s.vms!.delete("a", false);
    expect((await s.vms!.create(vm("b", ["n"]))).ip).toBe(a.ip);
  });

  it("refuses unknown networks, duplicates, and network deletion while in use", async () => {
    const s = stub();
    await expect(s.vms!.create(vm("v", ["ghost"]))).rejects.toThrow('network "ghost" (used by vm "v") not found');
    expect(await codeOf(s.vms!.create(vm("v", ["ghost"])))).toBe("NOT_FOUND");
    await s.networks!.create(network("n"));
    await s.vms!.create(vm("v", [], { network: "n" }));
    expect(await codeOf(s.vms!.create(vm("v", ["n"])))).toBe("ALREADY_EXISTS");
    await expect(s.networks!.delete("n", false)).rejects.toThrow('network "n" is currently in use by vm "v"');
    expect(await codeOf(s.networks!.delete("n", false))).toBe("RESOURCE_BUSY");
    await s.vms!.delete("v", false);
    await s.networks!.delete("n", false);
    expect(await s.networks!.list(undefined)).toEqual([]);
    expect(await codeOf(s.vms!.get("v"))).toBe("NOT_FOUND");
  });

  it("builds sshCommand from the authorized key and user, or the configured endpoint", async () => {
    const s = stub();
    const key = await s.keys!.create({ name: "k", spec: { type: "ed25519" } });
    await s.networks!.create(network("n", { cidr: "10.9.0.0/24" }));
    const v = await s.vms!.create(vm("v", ["n"], { cloudInit: { users: [{ name: "alice", sshAuthorizedKeys: [key.publicKey] }] } }));
    expect(v.sshCommand).toBe(`ssh -i ${key.privateKeyPath} alice@${v.ip}`);
    expect(v.sshUser).toBe("alice");

    const pointed = stub({ sshEndpoint: { host: "127.0.0.1", port: 2222, user: "tester" } });
    await pointed.networks!.create(network("n", { cidr: "10.9.0.0/24" }));
    const p = await pointed.vms!.create(vm("v", ["n"], { readiness: { ssh: { enabled: true, privateKey: "/keys/id" } } }));
    expect(p).toMatchObject({ ip: "127.0.0.1", sshPort: 2222, sshUser: "tester", sshCommand: "ssh -i /keys/id -p 2222 tester@127.0.0.1" });
    expect(p.ips!.n).toMatch(/^10\.9\.0\./);
  });
});

describe("stub keys", () => {
  it("reports well-formed fake material and writes nothing by default", async () => {
    const s = stub();
    const key = await s.keys!.create({ name: "tvm-k", spec: { type: "ED25519", comment: "me@host", outputDir: join(dir, "out") } });
    expect(key).toMatchObject({
      name: "tvm-k",
      type: "ed25519",
      publicKey: `ssh-ed25519 AAAA${Buffer.from("tvm-k").toString("base64")} me@host`,
      privateKeyPath: join(dir, "out", "tvm-k"),
      publicKeyPath: join(dir, "out", "tvm-k.pub"),
    });
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(existsSync(join(dir, "out"))).toBe(false);
    expect(await codeOf(s.keys!.create({ name: "tvm-k", spec: { type: "rsa" } }))).toBe("ALREADY_EXISTS");
    await expect(s.keys!.create({ name: "x", spec: { type: "dsa" } })).rejects.toThrow('spec.type: unsupported key type "dsa"');
    await expect(s.keys!.create({ name: "../evil", spec: { type: "rsa" } })).rejects.toThrow(/cannot be a key file name/);
    expect((await s.keys!.create({ name: "d", spec: { type: "rsa" } })).privateKeyPath).toBe(join(dir, "keys", "d"));
  });

  it("writes real key files with 0600/0644 when writeKeyFiles is set, and deletes them", async () => {
    const s = stub({ writeKeyFiles: true });
    const key = await s.keys!.create({ name: "real", spec: { type: "ecdsa", outputDir: join(dir, "keys") } });
    expect(readFileSync(key.privateKeyPath, "utf8")).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(readFileSync(key.publicKeyPath, "utf8").trim()).toBe(key.publicKey);
    expect(key.publicKey).toMatch(/^ecdsa-sha2-nistp256 AAAA\S+ real$/);
    expect(statSync(key.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(statSync(key.publicKeyPath).mode & 0o777).toBe(0o644);
    await s.keys!.delete("real", false);
    expect(existsSync(key.privateKeyPath)).toBe(false);
    expect(existsSync(key.publicKeyPath)).toBe(false);
  });
});

describe("stub file store", () => {
  it("shares state between stubs on the same file", async () => {
    const path = join(dir, "state", "stub.json");
    const a = stub({}, new FileStore(path));
    const b = stub({}, new FileStore(path));
    await a.networks!.create(network("n", { cidr: "10.7.0.0/24" }));
    const created = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).vms!.create(vm(`v${i}`, ["n"]))));
    expect(new Set(created.map((v) => v.ip)).size).toBe(10);
    expect((await b.vms!.list(undefined)).map((v) => v.name)).toEqual(["v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"]);
    await b.vms!.delete("v3", false);
    expect(await codeOf(a.vms!.get("v3"))).toBe("NOT_FOUND");
    const onDisk = JSON.parse(readFileSync(path, "utf8")) as { vms: Record<string, unknown> };
    expect(Object.keys(onDisk.vms)).toHaveLength(9);
  });
});

describe("stub through the kit", () => {
  const context = readProviderContext("stub", {});

  it("turns ProviderErrors into coded results and bad arguments into INVALID_SPEC naming the field", async () => {
    const s = stub();
    expect(await callTool(s, "vm_get", { name: "x" }, context)).toEqual({
      success: false,
      error: { code: "NOT_FOUND", message: 'vm "x" not found', retryable: false },
    });
    const bad = await callTool(s, "vm_create", { name: "v", spec: { memory: "lots", vcpus: 1, disk: { size: "1G" }, boot: {} } }, context);
    expect(bad.error?.code).toBe("INVALID_SPEC");
    expect(bad.error?.message).toContain("spec.memory");
  });
});

describe("stub config", () => {
  const parse = (config: Record<string, unknown>) => readStubConfig(readProviderContext("stub", { TESTENV_VM_PROVIDER_CONFIG: JSON.stringify(config) }));

  it("names the bad field", () => {
    expect(() => parse({ faults: [{ tool: "vm_explode" }] })).toThrow(ProviderConfigError);
    expect(() => parse({ faults: [{ tool: "vm_explode" }] })).toThrow(/providers\[stub\]\.spec\.faults\.0\.tool/);
    expect(() => parse({ sshEndpoint: { host: "127.0.0.1", port: 0 } })).toThrow(/sshEndpoint\.port/);
    expect(() => parse({ stroe: "/tmp/x" })).toThrow(/stroe/);
  });

  it("fills defaults", () => {
    expect(parse({ faults: [{ tool: "vm_create" }] })).toEqual({ faults: [{ tool: "vm_create", code: "PROVIDER_ERROR" }], writeKeyFiles: false });
  });
});
