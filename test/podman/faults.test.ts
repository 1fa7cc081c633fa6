import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNetns, deleteNetns, forceRemoveAll, leaks, newEnv, podman, removeEnvFiles, startPodmanProvider } from "./support.js";

// Faults: the provider SIGKILLed while a create waits for readiness, then a fresh process deletes everything.

const env = newEnv("fault");

beforeAll(() => createNetns());
afterAll(() => {
  forceRemoveAll(env);
  deleteNetns();
  removeEnvFiles(env);
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
});
