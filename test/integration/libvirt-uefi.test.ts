import { existsSync, readFileSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { leaks, newEnv, rootSshVm, useProvider, type ProviderKey } from "./libvirt-support.js";

// The design's topology (a bridge, a libvirt network attached to it, a VM) with a UEFI + TPM guest,
// and a readiness TIMEOUT that points at the console log.

describeIfTestHost("libvirt provider: UEFI + TPM VM on a libvirt network attached to a bridge", () => {
  const env = newEnv("uefi");
  const { name } = env;
  const provider = useProvider(env, { vms: ["uefi", "stuck"], networks: ["lan", "br"], keys: ["ssh"] });
  let images: TestImages;
  let key: ProviderKey;

  beforeAll(async () => {
    images = ensureTestImages("tiny");
    key = (await provider.call("key_create", { name: name("ssh"), spec: { type: "rsa", bits: 2048 } })).resource as typeof key;
    for (const [n, kind, spec] of [
      ["br", "bridge", { cidr: "192.168.241.1/24" }],
      ["lan", "libvirt", { attachTo: "br", cidr: "192.168.241.1/24", dhcp: { rangeStart: "192.168.241.10", rangeEnd: "192.168.241.50" } }],
    ] as const) {
      const created = await provider.call("network_create", { name: name(n), kind, spec });
      expect(created.success, `${n}: ${JSON.stringify(created.error)}`).toBe(true);
    }
  });

  it("boots under OVMF with a TPM 2.0 and reaches SSH through the bridged libvirt network", async () => {
    const created = await provider.call("vm_create", {
      name: name("uefi"),
      spec: rootSshVm({ networks: [name("lan")], key, disk: { baseImage: images.tiny, size: "1G" }, boot: { order: ["hd"], firmware: "uefi", tpm: true }, sshTimeout: "4m" }),
    });
    expect(created.success, JSON.stringify(created.error)).toBe(true);
    const vm = created.resource as { ip: string; providerState: { nvram: string } };
    expect(vm.ip).toMatch(/^192\.168\.241\./);
    expect(existsSync(vm.providerState.nvram)).toBe(true);
    const out = await sshExec(
      { host: vm.ip, port: 22, user: "root", privateKey: readFileSync(key.privateKeyPath, "utf8") },
      "test -d /sys/firmware/efi && echo efi; cat /sys/class/tpm/tpm0/tpm_version_major",
      30_000,
    );
    expect(out.stdout).toBe("efi\n2\n");
    expect((await provider.call("vm_delete", { name: name("uefi") })).success).toBe(true);
    expect(existsSync(vm.providerState.nvram)).toBe(false);
  });

  it("a readiness timeout is TIMEOUT and names the console log", async () => {
    // A blank disk boots nothing, so no address ever appears.
    const result = await provider.call("vm_create", {
      name: name("stuck"),
      spec: { memory: 128, vcpus: 1, networks: [name("lan")], disk: { size: "16M" }, boot: { order: ["hd"] }, readiness: { tcp: { port: 22, timeout: "8s" } } },
    });
    expect(result.error).toMatchObject({ code: "TIMEOUT", retryable: true, message: expect.stringContaining(`${env.artifactDir}/stuck.console`) });
    expect((await provider.call("vm_delete", { name: name("stuck") })).success).toBe(true);
  });

  it("cleans up completely", async () => {
    for (const n of ["lan", "br"]) expect((await provider.call("network_delete", { name: name(n) })).success).toBe(true);
    expect((await provider.call("key_delete", { name: name("ssh") })).success).toBe(true);
    expect(leaks(env)).toEqual([]);
  });
});
