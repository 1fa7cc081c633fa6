import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keeperName } from "../../providers/podman/attached-network.js";
import { createNetns, deleteNetns, forceRemoveAll, inNetns, leaks, newEnv, podman, removeEnvFiles, startPodmanProvider } from "./support.js";

// Faults: the provider SIGKILLed while a create waits for readiness, after its networks exist, and in the middle of
// a delete; each time a fresh process deletes what is left, and nothing leaks.

const env = newEnv("fault");
const BRIDGE = `tvmfb${process.pid % 100_000}`;
const octet = 100 + (process.pid % 100);
const links = (): string => inNetns("ip", ["-o", "link", "show"]);

beforeAll(() => {
  createNetns();
  inNetns("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  inNetns("ip", ["addr", "add", `10.234.${octet}.1/24`, "dev", BRIDGE]);
  inNetns("ip", ["link", "set", BRIDGE, "up"]);
});
afterAll(() => {
  forceRemoveAll(env);
  deleteNetns();
  removeEnvFiles(env);
});

const sleeper = (network: string, ip?: string) => ({
  memory: 64,
  vcpus: 1,
  boot: { order: ["hd"] },
  networks: [network],
  container: { command: ["sleep", "600"], ...(ip === undefined ? {} : { ip }) },
  readiness: { exec: { command: ["true"] } },
});

describe("podman provider faults", () => {
  it("SIGKILLed mid-create: a fresh process deletes the container and the network, and nothing leaks", async () => {
    const first = await startPodmanProvider(env);
    expect((await first.call("network_create", { name: env.name("net"), kind: "bridge", spec: { cidr: `10.233.${100 + (process.pid % 100)}.1/24` } })).success).toBe(true);
    // Never ready: the command inside never succeeds, so the create is still waiting when the provider dies.
    const pending = first.call("vm_create", {
      name: env.name("vm"),
      spec: { memory: 128, vcpus: 1, boot: { order: ["hd"] }, networks: [env.name("net")], container: { command: ["sleep", "600"] }, readiness: { exec: { command: ["false"], timeout: "5m" } } },
    });
    pending.catch(() => undefined);
    for (let i = 0; i < 300 && !podman("ps", "--format", "{{.Names}}").includes(env.name("vm")); i++) await sleep(100);
    expect(podman("ps", "--format", "{{.Names}}")).toContain(env.name("vm"));
    process.kill(first.pid, "SIGKILL");
    await first.close().catch(() => undefined);

    const fresh = await startPodmanProvider(env);
    try {
      expect((await fresh.call("vm_get", { name: env.name("vm") })).resource).toMatchObject({ status: "running" });
      expect((await fresh.call("vm_delete", { name: env.name("vm") })).success).toBe(true);
      expect((await fresh.call("network_delete", { name: env.name("net") })).success).toBe(true);
    } finally {
      await fresh.close();
    }
    expect(leaks(env)).toEqual([]);
  });

  it("SIGKILLed once its networks exist (one attached to a host bridge): a fresh process deletes them, the keeper goes, the bridge stays", async () => {
    const first = await startPodmanProvider(env);
    expect((await first.call("network_create", { name: env.name("own"), kind: "bridge", spec: { cidr: `10.233.${octet}.1/24` } })).success).toBe(true);
    expect((await first.call("network_create", { name: env.name("lan"), kind: "bridge", spec: { attachTo: BRIDGE } })).success).toBe(true);
    process.kill(first.pid, "SIGKILL");
    await first.close().catch(() => undefined);
    expect(links()).toContain(keeperName(env.name("lan"), env.prefix));

    const fresh = await startPodmanProvider(env);
    try {
      const listed = (await fresh.call("network_list", {})).resource as Array<{ name: string; interfaceName?: string }>;
      expect(listed.map((n) => n.name).sort()).toEqual([env.name("lan"), env.name("own")]);
      expect(listed.find((n) => n.name === env.name("lan"))?.interfaceName).toBe(BRIDGE);
      expect((await fresh.call("network_delete", { name: env.name("lan") })).success).toBe(true);
      expect((await fresh.call("network_delete", { name: env.name("own") })).success).toBe(true);
    } finally {
      await fresh.close();
    }
    expect(leaks(env)).toEqual([]);
    expect(links()).not.toContain(keeperName(env.name("lan"), env.prefix));
    expect(inNetns("ip", ["-o", "addr", "show", "dev", BRIDGE])).toContain(`10.234.${octet}.1/24`);
  });

  it("SIGKILLed in the middle of a delete: a fresh process finishes it (or finds it done) and nothing leaks", async () => {
    const first = await startPodmanProvider(env);
    expect((await first.call("network_create", { name: env.name("lan"), kind: "bridge", spec: { attachTo: BRIDGE } })).success).toBe(true);
    expect((await first.call("vm_create", { name: env.name("box"), spec: sleeper(env.name("lan"), `10.234.${octet}.60`) })).success).toBe(true);
    const pending = first.call("vm_delete", { name: env.name("box") });
    pending.catch(() => undefined);
    await sleep(150);
    process.kill(first.pid, "SIGKILL");
    await first.close().catch(() => undefined);

    const fresh = await startPodmanProvider(env);
    try {
      const again = await fresh.call("vm_delete", { name: env.name("box") });
      expect(again.success || again.error?.code === "NOT_FOUND", JSON.stringify(again)).toBe(true);
      expect((await fresh.call("network_delete", { name: env.name("lan") })).success).toBe(true);
    } finally {
      await fresh.close();
    }
    expect(leaks(env)).toEqual([]);
    expect(links()).not.toContain(keeperName(env.name("lan"), env.prefix));
    expect(inNetns("ip", ["-o", "link", "show", "master", BRIDGE]).trim()).toBe("");
  });

  it("a container on an attached network without a fixed IP is refused before anything is made", async () => {
    const provider = await startPodmanProvider(env);
    try {
      expect((await provider.call("network_create", { name: env.name("lan"), kind: "bridge", spec: { attachTo: BRIDGE } })).success).toBe(true);
      const refused = await provider.call("vm_create", { name: env.name("nofix"), spec: sleeper(env.name("lan")) });
      expect(refused).toMatchObject({ success: false, error: { code: "INVALID_SPEC", message: expect.stringMatching(/^spec\.container\.ip: network .* is on bridge/) } });
      const missing = await provider.call("network_create", { name: env.name("nobr"), kind: "bridge", spec: { attachTo: "tvmnosuchbr" } });
      expect(missing).toMatchObject({ success: false, error: { code: "DEPENDENCY_FAILED" } });
      expect((await provider.call("network_delete", { name: env.name("lan") })).success).toBe(true);
    } finally {
      await provider.close();
    }
    expect(leaks(env)).toEqual([]);
    expect(links()).not.toContain(`${env.prefix}-k`);
  });
});
