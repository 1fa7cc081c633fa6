import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { domains, leaks, networks, newEnv, startProvider, type ProviderProcess } from "./libvirt-support.js";
import { sshExec, type SshTarget } from "../../providers/libvirt/vm/readiness.js";

// vm_stop / vm_start of one tiny VM through the provider process: a graceful stop (the tiny image's acpid
// powers off on the ACPI power button), a stop forced after the timeout (acpid killed in the guest), force,
// data on the disk kept across stop/start, start waiting for SSH again from a fresh process (the readiness
// spec comes from the domain's metadata), the list filter, and delete with force of what a VM uses.

describeIfTestHost("libvirt provider: VM power (vm_stop / vm_start)", () => {
  const env = newEnv("power");
  const name = (n: string) => `${env.prefix}-${n}`;
  const marker = `power-marker-${env.prefix}`;
  let images: TestImages;
  let provider: ProviderProcess;
  let privateKeyPath = "";
  let publicKey = "";

  type VM = { name: string; status: string; ip?: string; stopMethod?: string };
  const target = (vm: VM): SshTarget => ({ host: vm.ip ?? "", port: 22, user: "root", privateKey: readFileSync(privateKeyPath, "utf8") });
  const names = (resource: unknown) => (resource as { name: string }[]).map((r) => r.name);

  function expectVm(result: Awaited<ReturnType<ProviderProcess["call"]>>): VM {
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    return result.resource as VM;
  }

  beforeAll(async () => {
    images = ensureTestImages("tiny");
    provider = await startProvider(env);
    const key = await provider.call("key_create", { name: name("ssh"), spec: { type: "ed25519" } });
    expect(key.success, JSON.stringify(key.error)).toBe(true);
    ({ privateKeyPath, publicKey } = key.resource as { privateKeyPath: string; publicKey: string });
    const net = await provider.call("network_create", { name: name("net"), kind: "libvirt", spec: { cidr: "192.168.223.1/24" } });
    expect(net.success, JSON.stringify(net.error)).toBe(true);
  });

  afterAll(async () => {
    await provider.call("vm_delete", { name: name("vm") }).catch(() => undefined);
    await provider.call("network_delete", { name: name("net"), force: true }).catch(() => undefined);
    await provider.call("key_delete", { name: name("ssh"), force: true }).catch(() => undefined);
    await provider.close();
    rmSync(env.dataDir.replace(/\/data$/, ""), { recursive: true, force: true });
  });

  it("declares start and stop for VMs", async () => {
    const caps = (await provider.call("provider_capabilities")).resource as { resources: { kind: string; operations: string[] }[] };
    expect(caps.resources.find((r) => r.kind === "vm")?.operations).toEqual(expect.arrayContaining(["start", "stop"]));
  });

  it("creates a VM that waits for SSH, and writes a marker to its persistent boot disk", async () => {
    const vm = expectVm(
      await provider.call("vm_create", {
        name: name("vm"),
        spec: {
          memory: 256,
          vcpus: 1,
          networks: [name("net")],
          disk: { baseImage: images.tiny, size: "1G" },
          boot: { order: ["hd"] },
          cloudInit: { hostname: "tiny-power", users: [{ name: "root", sshAuthorizedKeys: [publicKey] }] },
          readiness: { ssh: { enabled: true, user: "root", privateKey: privateKeyPath, timeout: "3m" } },
        },
      }),
    );
    expect(vm).toMatchObject({ status: "running", ip: expect.stringMatching(/^192\.168\.223\./) });
    // The tiny image runs from its initramfs; /boot (the FAT boot disk on the qcow2 overlay) is what persists.
    const written = await sshExec(target(vm), `echo ${marker} > /boot/state/power-marker && sync && cat /boot/state/power-marker`, 30_000);
    expect(written.stdout).toBe(`${marker}\n`);
  });

  it("vm_stop: the guest powers off on the ACPI request (graceful); the domain and its disk stay", async () => {
    const started = Date.now();
    const stopped = expectVm(await provider.call("vm_stop", { name: name("vm"), timeoutSeconds: 90 }));
    expect(stopped).toMatchObject({ name: name("vm"), status: "stopped", stopMethod: "graceful" });
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(domains()).toContain(name("vm"));
    expect((expectVm(await provider.call("vm_get", { name: name("vm") }))).status).toBe("stopped");
    expect((expectVm(await provider.call("vm_stop", { name: name("vm") }))).stopMethod).toBe("already-stopped");
  });

  it("lists with a filter: VMs by status, networks by kind, keys by type", async () => {
    expect(names((await provider.call("vm_list", { filter: { status: "stopped" } })).resource)).toEqual([name("vm")]);
    expect(names((await provider.call("vm_list", { filter: { status: "running" } })).resource)).toEqual([]);
    expect(names((await provider.call("network_list", { filter: { kind: "libvirt", name: name("net") } })).resource)).toEqual([name("net")]);
    expect(names((await provider.call("network_list", { filter: { kind: "bridge" } })).resource)).toEqual([]);
    expect(names((await provider.call("key_list", { filter: { type: "ed25519" } })).resource)).toEqual([name("ssh")]);
    expect((await provider.call("vm_list", { filter: { ips: {} } })).error?.code).toBe("INVALID_SPEC");
  });

  it("vm_start from a fresh process waits for SSH again (readiness from the domain metadata); the marker survived", async () => {
    await using fresh = await startProvider(env);
    const vm = expectVm(await fresh.call("vm_start", { name: name("vm") }));
    expect(vm).toMatchObject({ status: "running", ip: expect.stringMatching(/^192\.168\.223\./) });
    expect(vm.stopMethod).toBeUndefined();
    // No retry here: start returned only once SSH logins worked.
    const read = await sshExec(target(vm), "cat /boot/state/power-marker; hostname", 30_000);
    expect(read.stdout).toBe(`${marker}\ntiny-power\n`);
    expect(names((await fresh.call("vm_list", { filter: { status: "running" } })).resource)).toEqual([name("vm")]);
    // Starting a running VM is a no-op.
    expect((expectVm(await fresh.call("vm_start", { name: name("vm") }))).status).toBe("running");
  });

  it("vm_stop forces the domain off when the guest ignores the ACPI request for timeoutSeconds", async () => {
    const vm = expectVm(await provider.call("vm_get", { name: name("vm") }));
    // Without acpid the tiny image does not react to the power button.
    const killed = await sshExec(target(vm), "for pid in $(pidof acpid); do kill $pid; done; sleep 1; pidof acpid || echo no-acpid", 30_000);
    expect(killed.stdout).toContain("no-acpid");
    const started = Date.now();
    const stopped = expectVm(await provider.call("vm_stop", { name: name("vm"), timeoutSeconds: 5 }));
    expect(stopped).toMatchObject({ status: "stopped", stopMethod: "forced" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
  });

  it("vm_start without waitReady returns at once; vm_stop with force skips the guest", async () => {
    const started = expectVm(await provider.call("vm_start", { name: name("vm"), waitReady: false }));
    expect(started.status).toBe("running");
    const before = Date.now();
    const stopped = expectVm(await provider.call("vm_stop", { name: name("vm"), force: true }));
    expect(stopped).toMatchObject({ status: "stopped", stopMethod: "forced" });
    expect(Date.now() - before).toBeLessThan(30_000);
  });

  it("delete with force removes a network and a key a VM uses; the VM then cannot start; everything goes", async () => {
    expect((await provider.call("network_delete", { name: name("net") })).error?.code).toBe("RESOURCE_BUSY");
    expect((await provider.call("key_delete", { name: name("ssh") })).error?.code).toBe("RESOURCE_BUSY");
    expect(await provider.call("network_delete", { name: name("net"), force: true })).toEqual({ success: true });
    expect(networks()).not.toContain(name("net"));
    expect(await provider.call("key_delete", { name: name("ssh"), force: true })).toEqual({ success: true });
    const start = await provider.call("vm_start", { name: name("vm") });
    expect(start.error?.code).toBe("DEPENDENCY_FAILED");
    expect(start.error?.message).toContain(name("net"));
    expect((await provider.call("vm_delete", { name: name("vm") })).success).toBe(true);
    expect(domains()).not.toContain(name("vm"));
    expect(leaks(env)).toEqual([]);
  });
});
