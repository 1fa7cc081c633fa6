import { existsSync, readFileSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { domains, leaks, newEnv, rootSshVm, startProvider, useProvider, type ProviderKey } from "./libvirt-support.js";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";

// One tiny VM (≈10-15 s to SSH under TCG) on a libvirt NAT network, through the provider process:
// cloud-init seed, ssh/tcp/cloudInit readiness, console log, get/list from a fresh process, BUSY and
// NOT_FOUND codes, and a delete that leaves nothing behind.

describeIfTestHost("libvirt provider: a VM on a libvirt network", () => {
  const env = newEnv("vm");
  const { name } = env;
  const provider = useProvider(env, { vms: ["vm"], networks: ["net"], keys: ["ssh"] });
  let images: TestImages;
  let privateKeyPath = "";
  let publicKey = "";

  beforeAll(async () => {
    images = ensureTestImages("tiny");
    const key = await provider.call("key_create", { name: name("ssh"), spec: { type: "ed25519" } });
    expect(key.success, JSON.stringify(key.error)).toBe(true);
    ({ privateKeyPath, publicKey } = key.resource as ProviderKey);
    const net = await provider.call("network_create", { name: name("net"), kind: "libvirt", spec: { cidr: "192.168.221.1/24" } });
    expect(net.success, JSON.stringify(net.error)).toBe(true);
  });

  it("creates the VM and waits until SSH, TCP and cloud-init are ready", async () => {
    const created = await provider.call("vm_create", {
      name: name("vm"),
      spec: rootSshVm({
        networks: [name("net")],
        key: { privateKeyPath, publicKey },
        disk: { baseImage: images.tiny, size: "1G" },
        cloudInit: {
          hostname: "tiny-it",
          writeFiles: [{ path: "/root/hello.txt", content: "it's <here> & \"quoted\"\nsecond line\n", permissions: "0600" }],
          runcmd: ["echo runcmd-ran > /root/runcmd.txt"],
        },
        sshTimeout: "3m",
        readiness: { tcp: { port: 22, timeout: "1m" }, cloudInit: { enabled: true, timeout: "2m" } },
      }),
    });
    expect(created.success, JSON.stringify(created.error)).toBe(true);
    const vm = created.resource as Record<string, unknown>;
    expect(vm).toMatchObject({ name: name("vm"), status: "running", accelerator: "tcg", ip: expect.stringMatching(/^192\.168\.221\./), mac: expect.stringMatching(/^52:54:00:/) });
    expect(vm.ips).toEqual({ [name("net")]: vm.ip });
    expect(vm.macs).toEqual({ [name("net")]: vm.mac });
    expect(vm.consoleOutput).toBe(`${env.artifactDir}/vm.console`);
    expect(readFileSync(vm.consoleOutput as string, "utf8").length).toBeGreaterThan(100);

    const target = { host: vm.ip as string, port: 22, user: "root", privateKey: readFileSync(privateKeyPath, "utf8") };
    const result = await sshExec(target, "hostname; cat /root/hello.txt; cat /root/runcmd.txt", 30_000);
    expect(result.stdout).toBe("tiny-it\nit's <here> & \"quoted\"\nsecond line\nruncmd-ran\n");
  });

  it("answers get and list from a fresh process, from libvirt", async () => {
    await using fresh = await startProvider(env);
    const got = await fresh.call("vm_get", { name: name("vm") });
    expect(got.resource).toMatchObject({ name: name("vm"), status: "running", ip: expect.stringMatching(/^192\.168\.221\./), accelerator: "tcg" });
    const listed = (await fresh.call("vm_list", {})).resource as { name: string }[];
    expect(listed.map((v) => v.name)).toEqual([name("vm")]);
  });

  it("refuses a second VM with the same name, and deletes of what the VM uses", async () => {
    const again = await provider.call("vm_create", { name: name("vm"), spec: { memory: 128, vcpus: 1, disk: { size: "1G" }, boot: { order: ["hd"] } } });
    expect(again.error?.code).toBe("ALREADY_EXISTS");
    const net = await provider.call("network_delete", { name: name("net") });
    expect(net.error).toMatchObject({ code: "RESOURCE_BUSY", retryable: true, message: expect.stringContaining(name("vm")) });
    expect((await provider.call("key_delete", { name: name("ssh") })).error?.code).toBe("RESOURCE_BUSY");
  });

  it("a VM on a network that does not exist fails before anything is made", async () => {
    const result = await provider.call("vm_create", { name: name("orphan"), spec: { memory: 128, vcpus: 1, networks: [name("nope")], disk: { size: "1G" }, boot: { order: ["hd"] } } });
    expect(result.error?.code).toBe("DEPENDENCY_FAILED");
    expect(domains()).not.toContain(name("orphan"));
  });

  it("delete removes domain, disk, seed and console log; then NOT_FOUND; nothing with the prefix is left", async () => {
    const state = (await provider.call("vm_get", { name: name("vm") })).resource as { consoleOutput: string; providerState: { disk: string; seedIso: string } };
    expect((await provider.call("vm_delete", { name: name("vm") })).success).toBe(true);
    expect(domains()).not.toContain(name("vm"));
    for (const path of [state.consoleOutput, state.providerState.disk, state.providerState.seedIso]) expect(existsSync(path)).toBe(false);
    expect((await provider.call("vm_delete", { name: name("vm") })).error?.code).toBe("NOT_FOUND");
    expect((await provider.call("vm_get", { name: name("vm") })).error?.code).toBe("NOT_FOUND");
    expect((await provider.call("network_delete", { name: name("net") })).success).toBe(true);
    expect((await provider.call("key_delete", { name: name("ssh") })).success).toBe(true);
    expect(leaks(env)).toEqual([]);
  });
});
