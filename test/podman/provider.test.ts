import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProviderProcess } from "../helpers/provider-stdio.js";
import { createNetns, deleteNetns, forceRemoveAll, inNetns, leaks, newEnv, podman, removeEnvFiles, startPodmanProvider } from "./support.js";

// The podman provider process over stdio with the official SDK client: every tool, the error codes over the
// wire, state read back by a fresh process, limits seen from inside, a published port and ssh from the namespace.

const env = newEnv("it");
const octet = 100 + (process.pid % 100);
const cidr = `10.231.${octet}.1/24`;
const fixedIp = `10.231.${octet}.50`;
const sshPort = 20_000 + (process.pid % 10_000);

interface Key {
  privateKeyPath: string;
  publicKey: string;
}
interface Vm {
  name: string;
  status: string;
  ip?: string;
  stopMethod?: string;
  providerState?: Record<string, unknown>;
}

let provider: ProviderProcess;
let key: Key;

const sshArgs = (keyPath: string, target: string, port = 22) => ["-i", keyPath, "-p", String(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", target];

function containerSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    memory: 256,
    vcpus: 1,
    boot: { order: ["hd"] },
    networks: [env.name("net")],
    container: { ip: fixedIp, ports: [{ containerPort: 22, hostPort: sshPort }] },
    readiness: { ssh: { enabled: true, user: "root", privateKey: key.privateKeyPath, timeout: "60s" } },
    ...extra,
  };
}

beforeAll(async () => {
  createNetns();
  provider = await startPodmanProvider(env);
});

afterAll(async () => {
  await provider.close().catch(() => undefined);
  forceRemoveAll(env);
  deleteNetns();
  removeEnvFiles(env);
});

describe("podman provider over stdio", () => {
  it("declares what it supports", async () => {
    const result = await provider.call("provider_capabilities");
    expect(result.resource).toMatchObject({ providerName: "podman", resources: expect.arrayContaining([expect.objectContaining({ kind: "vm", vmFeatures: expect.arrayContaining(["container", "readiness.exec"]) })]) });
    const tools = await provider.raw("vm_get", {});
    expect(tools.isError).toBe(true);
  });

  it("creates a key and networks (bridge with subnet and gateway, internal)", async () => {
    const created = await provider.call("key_create", { name: env.name("key"), spec: { type: "ed25519" } });
    expect(created.success).toBe(true);
    key = created.resource as Key;
    const net = await provider.call("network_create", { name: env.name("net"), kind: "bridge", spec: { cidr } });
    expect(net).toMatchObject({ success: true, resource: { name: env.name("net"), cidr: `10.231.${octet}.0/24`, gateway: `10.231.${octet}.1`, ip: `10.231.${octet}.1` } });
    const internal = await provider.call("network_create", { name: env.name("inner"), kind: "isolated", spec: {} });
    expect(internal).toMatchObject({ success: true, resource: { kind: "isolated", providerState: { internal: true } } });
    const labels = JSON.parse(podman("network", "inspect", env.name("net"))) as Array<{ labels: Record<string, string> }>;
    expect(labels[0]?.labels).toMatchObject({ "managed-by": "testenv-vm", "testenv-vm.prefix": env.prefix, "testenv-vm.test-id": env.testID, "testenv-vm.resource": "net" });
  });

  it("refuses what a container cannot do with NOT_IMPLEMENTED, and bad arguments with INVALID_SPEC", async () => {
    const withDisk = await provider.call("vm_create", { name: env.name("disk"), spec: containerSpec({ disk: { size: "2G" } }) });
    expect(withDisk.error).toMatchObject({ code: "NOT_IMPLEMENTED", message: expect.stringContaining("spec.disk") });
    const uefi = await provider.call("vm_create", { name: env.name("uefi"), spec: { ...containerSpec(), boot: { order: ["hd"], firmware: "uefi" } } });
    expect(uefi.error).toMatchObject({ code: "NOT_IMPLEMENTED", message: expect.stringContaining("spec.boot.firmware") });
    const dhcp = await provider.call("network_create", { name: env.name("dhcp"), kind: "bridge", spec: { cidr: "10.232.0.1/24", dhcp: {} } });
    expect(dhcp.error?.code).toBe("NOT_IMPLEMENTED");
    const kind = await provider.call("network_create", { name: env.name("kind"), kind: "dnsmasq", spec: {} });
    expect(kind.error?.code).toBe("NOT_IMPLEMENTED");
    const bad = await provider.call("vm_create", { name: env.name("bad"), spec: { memory: -1 } });
    expect(bad.error?.code).toBe("INVALID_SPEC");
    expect((await provider.call("vm_get", { name: env.name("nothing") })).error?.code).toBe("NOT_FOUND");
    expect((await provider.call("vm_delete", { name: env.name("nothing") })).error?.code).toBe("NOT_FOUND");
    expect((await provider.call("network_delete", { name: env.name("nothing") })).error?.code).toBe("NOT_FOUND");
    expect(podman("ps", "--all", "--format", "{{.Names}}")).not.toContain(env.name("disk"));
  });

  it("creates a container with a fixed IP, limits, a published port and labels, ready over ssh", async () => {
    const started = Date.now();
    const created = await provider.call("vm_create", { name: env.name("vm"), spec: containerSpec() });
    expect(created.error?.message).toBeUndefined();
    const vm = created.resource as Vm;
    expect(vm).toMatchObject({ name: env.name("vm"), status: "running", ip: fixedIp });
    console.log(`container create -> ssh ready: ${Date.now() - started} ms`);
    expect((await provider.call("vm_create", { name: env.name("vm"), spec: containerSpec() })).error?.code).toBe("ALREADY_EXISTS");
  });

  it("applies memory and cpu limits exactly, seen from inside through the cgroup", () => {
    const memory = podman("exec", env.name("vm"), "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max").trim();
    expect(Number(memory)).toBe(256 * 1024 * 1024);
    const cpu = podman("exec", env.name("vm"), "sh", "-c", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max").trim().split(/\s+/);
    expect(Number(cpu[0]) / Number(cpu[1])).toBe(1);
    expect(podman("exec", env.name("vm"), "hostname").trim()).toBe("vm");
  });

  it("answers ssh with the generated key on its IP and on the published port, from the namespace only", () => {
    expect(inNetns("ssh", [...sshArgs(key.privateKeyPath, `root@${fixedIp}`), "hostname"]).trim()).toBe("vm");
    expect(inNetns("ssh", [...sshArgs(key.privateKeyPath, "root@127.0.0.1", sshPort), "python3 -c 'print(6*7)'"]).trim()).toBe("42");
    expect(() => execFileSync("ssh", [...sshArgs(key.privateKeyPath, "root@127.0.0.1", sshPort), "-o", "ConnectTimeout=2", "true"], { stdio: "ignore", timeout: 10_000 })).toThrow();
  });

  it("lets a fresh process see what exists", async () => {
    const fresh = await startPodmanProvider(env);
    try {
      expect((await fresh.call("vm_get", { name: env.name("vm") })).resource).toMatchObject({ status: "running", ip: fixedIp, sshUser: "root" });
      const listed = (await fresh.call("vm_list", { filter: { status: "running" } })).resource as Vm[];
      expect(listed.map((v) => v.name)).toEqual([env.name("vm")]);
      const networks = (await fresh.call("network_list", {})).resource as Array<{ name: string }>;
      expect(networks.map((n) => n.name).sort()).toEqual([env.name("inner"), env.name("net")]);
      expect((await fresh.call("key_get", { name: env.name("key") })).resource).toMatchObject({ publicKey: key.publicKey });
      expect((await fresh.call("key_list", {})).resource).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });

  it("refuses to delete a network in use", async () => {
    expect((await provider.call("network_delete", { name: env.name("net") })).error?.code).toBe("RESOURCE_BUSY");
  });

  it("stops gracefully and starts again with its data kept", async () => {
    podman("exec", env.name("vm"), "sh", "-c", "echo kept > /root/data.txt");
    const stopped = await provider.call("vm_stop", { name: env.name("vm"), timeoutSeconds: 10 });
    expect(stopped.resource).toMatchObject({ status: "stopped", stopMethod: "graceful" });
    expect((await provider.call("vm_stop", { name: env.name("vm") })).resource).toMatchObject({ stopMethod: "already-stopped" });
    const started = await provider.call("vm_start", { name: env.name("vm") });
    expect(started.resource).toMatchObject({ status: "running", ip: fixedIp });
    expect(inNetns("ssh", [...sshArgs(key.privateKeyPath, `root@${fixedIp}`), "cat", "/root/data.txt"]).trim()).toBe("kept");
  });

  it("waits for a command inside the container, on podman's default network", async () => {
    const created = await provider.call("vm_create", {
      name: env.name("worker"),
      spec: { memory: 128, vcpus: 1, boot: { order: ["hd"] }, container: { command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 600"], init: true, env: { GREETING: "hi" } }, readiness: { exec: { command: ["test", "-f", "/tmp/ready"], timeout: "30s" } } },
    });
    expect(created.error).toBeUndefined();
    expect(created.resource).toMatchObject({ status: "running" });
    expect(podman("exec", env.name("worker"), "sh", "-c", "echo $GREETING").trim()).toBe("hi");
    expect((await provider.call("vm_stop", { name: env.name("worker"), force: true })).resource).toMatchObject({ stopMethod: "forced" });
    expect((await provider.call("vm_delete", { name: env.name("worker") })).success).toBe(true);
  });

  it("reports a container that exits at once with its logs, not as a readiness timeout, and leaves nothing", async () => {
    const started = Date.now();
    const result = await provider.call("vm_create", { name: env.name("crash"), spec: containerSpec({ container: { command: ["sh", "-c", "echo boom-from-the-container >&2; exit 3"] } }) });
    expect(result.error).toMatchObject({ code: "PROVIDER_ERROR", message: expect.stringContaining("boom-from-the-container") });
    expect(result.error?.message).toContain("code 3");
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(podman("ps", "--all", "--format", "{{.Names}}")).not.toContain(env.name("crash"));
  });

  it("names the registry problem when an image must be pulled and no registry answers", async () => {
    const result = await provider.call("vm_create", { name: env.name("reg"), spec: { memory: 128, vcpus: 1, boot: { order: ["hd"] }, container: { image: "docker.io/library/alpine:3.20" } } });
    expect(result.error).toMatchObject({ code: "PROVIDER_ERROR", message: expect.stringContaining("pulling it failed") });
  });

  it("deletes containers and networks; NOT_FOUND afterwards; nothing leaks", async () => {
    expect((await provider.call("vm_delete", { name: env.name("vm") })).success).toBe(true);
    expect((await provider.call("vm_delete", { name: env.name("vm") })).error?.code).toBe("NOT_FOUND");
    expect((await provider.call("network_delete", { name: env.name("net") })).success).toBe(true);
    expect((await provider.call("network_delete", { name: env.name("inner") })).success).toBe(true);
    expect((await provider.call("key_delete", { name: env.name("key") })).success).toBe(true);
    expect(leaks(env)).toEqual([]);
  });
});
