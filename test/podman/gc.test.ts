import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OwnedObject } from "../../api/provider.js";
import { PLANTED_LABEL, createNetns, deleteNetns, forceRemoveAll, leaks, newEnv, podman, removeEnvFiles, startPodmanProvider } from "./support.js";

// gc on podman: provider_owned finds our containers and networks by their labels, with the testID and state dir
// they carry; provider_reclaim removes them; a foreign container and a network whose name merely looks like ours
// are neither listed nor removable.

const env = newEnv("gc");
const stateDir = `${env.root}/state`;

beforeAll(() => createNetns());
afterAll(() => {
  forceRemoveAll(env);
  deleteNetns();
  removeEnvFiles(env);
});

const baseImage = (): string => {
  const image = podman("images", "--format", "{{.Repository}}:{{.Tag}}").split("\n").find((line) => line.startsWith("localhost/testenv-vm-base:"));
  if (image === undefined) throw new Error("the base image is missing (built by global-setup.ts)");
  return image;
};

describe("podman provider gc tools", () => {
  it("lists what it made by label with its owner, reclaims it, and leaves foreign look-alikes alone", async () => {
    const maker = await startPodmanProvider(env, { TESTENV_VM_STATE_DIR: stateDir });
    try {
      expect((await maker.call("network_create", { name: env.name("net"), kind: "bridge", spec: { cidr: `10.234.${100 + (process.pid % 100)}.1/24` } })).success).toBe(true);
      const vm = await maker.call("vm_create", {
        name: env.name("vm"),
        spec: { memory: 128, vcpus: 1, boot: { order: ["hd"] }, networks: [env.name("net")], container: { command: ["sleep", "600"] }, readiness: { exec: { command: ["true"], timeout: "1m" } } },
      });
      expect(vm.success, JSON.stringify(vm.error)).toBe(true);
    } finally {
      await maker.close();
    }
    podman("network", "create", ...PLANTED_LABEL, env.name("lookalike"));
    podman("create", ...PLANTED_LABEL, "--name", env.name("foreign"), baseImage(), "sleep", "600");

    // As gc starts it: no environment of its own.
    const gc = await startPodmanProvider(env, { TESTENV_VM_TEST_ID: "", TESTENV_VM_NAME_PREFIX: "" });
    try {
      const answer = await gc.call("provider_owned", {});
      expect(answer.success, JSON.stringify(answer.error)).toBe(true);
      const ours = (answer.resource as { objects: OwnedObject[] }).objects.filter((o) => o.name.startsWith(env.prefix));
      expect(ours.map((o) => [o.kind, o.name, o.testID, o.prefix, o.stateDir])).toEqual([
        ["vm", env.name("vm"), env.testID, env.prefix, stateDir],
        ["network", env.name("net"), env.testID, env.prefix, stateDir],
      ]);
      expect(ours.every((o) => typeof o.createdAt === "string" && !Number.isNaN(Date.parse(o.createdAt)))).toBe(true);
      expect((await gc.call("provider_reclaim", { kind: "vm", name: env.name("foreign") })).error?.code).toBe("NOT_FOUND");
      expect((await gc.call("provider_reclaim", { kind: "network", name: env.name("lookalike") })).error?.code).toBe("NOT_FOUND");
      expect((await gc.call("provider_reclaim", { kind: "vm", name: env.name("vm") })).success).toBe(true);
      expect((await gc.call("provider_reclaim", { kind: "network", name: env.name("net") })).success).toBe(true);
    } finally {
      await gc.close();
    }
    expect(leaks(env).sort()).toEqual([`container ${env.name("foreign")}`, `network ${env.name("lookalike")}`]);
  });
});
