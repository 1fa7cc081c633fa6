import { describe, expect, it } from "vitest";
import { NetworkCreateRequest, VMCreateRequest } from "../../../api/provider.js";
import { createLogger } from "../../../lib/log.js";
import { RecordStore } from "../../../providers/kit/index.js";
import { resolveConfig } from "../../../providers/podman/config.js";
import type { HostFacts } from "../../../providers/podman/host.js";
import { baseImageTag } from "../../../providers/podman/image.js";
import { podmanDiscovery, podmanPlanSteps, type PodmanPlanContext } from "../../../providers/podman/plan.js";

const facts: HostFacts = { hybridCgroups: false, canRaiseRlimits: true, hardNofile: 1_048_576, hardNproc: undefined, systemd: true };
const providerContext = { config: { root: "/r" }, configName: undefined, testID: "t1", prefix: "p1", artifactDir: "/a", stateDir: undefined, log: createLogger("test") };
const config = resolveConfig(providerContext, facts, {});
const plan: PodmanPlanContext = { config, labels: { testID: "t1", prefix: "p1" }, records: new RecordStore("/r"), keyDir: "/a/keys", containerDir: "/r/containers" };

const vm = VMCreateRequest.parse({
  name: "p1-web",
  spec: {
    memory: 256,
    vcpus: 2,
    boot: {},
    networks: ["p1-lan"],
    container: { ip: "10.9.0.5", ports: [{ containerPort: 22, hostPort: 2222 }] },
    readiness: { ssh: { enabled: true, user: "root", privateKey: "(known after create: key.k.privateKeyPath)" } },
  },
});

describe("podman plan", () => {
  it("gives the argv of podman network create with labels, subnet and gateway", () => {
    const steps = podmanPlanSteps({ tool: "network_create", request: NetworkCreateRequest.parse({ name: "p1-lan", kind: "bridge", spec: { cidr: "10.9.0.0/24" } }) }, plan);
    expect(steps).toEqual([
      {
        action: "exec",
        summary: "create bridge network p1-lan",
        argv: ["podman", "network", "create", "--driver", "bridge", "--label", "managed-by=testenv-vm", "--label", "testenv-vm.test-id=t1", "--label", "testenv-vm.prefix=p1", "--label", "testenv-vm.resource=lan", "--label", "testenv-vm.kind=bridge", "--subnet", "10.9.0.0/24", "--gateway", "10.9.0.1", "p1-lan"],
      },
    ]);
  });

  it("gives the init script and the podman run argv with labels, limits, the fixed IP and ports; deterministic", () => {
    const steps = podmanPlanSteps({ tool: "vm_create", request: vm }, plan);
    expect(podmanPlanSteps({ tool: "vm_create", request: vm }, plan)).toEqual(steps);
    expect(steps.map((s) => s.action)).toEqual(["note", "write", "exec", "note"]);
    expect(steps[0]?.summary).toContain(baseImageTag(config.baseImage));
    expect(steps[1]?.path).toBe("/r/containers/p1-web/<8 random hex, new per create>/init.sh");
    expect(steps[1]?.content).toContain("(known at create: the public key in (known after create: key.k.privateKeyPath).pub)");
    const argv = steps[2]?.argv ?? [];
    expect(argv.slice(0, 8)).toEqual(["podman", "run", "--detach", "--name", "p1-web", "--hostname", "web", "--label"]);
    expect(argv).toEqual(expect.arrayContaining(["--memory", "256m", "--cpus", "2", "--network", "p1-lan:ip=10.9.0.5", "--publish", "127.0.0.1:2222:22/tcp", "testenv-vm.ssh-user=root"]));
    expect(argv.at(-1)).toBe(`(known at create: the entrypoint and command of ${baseImageTag(config.baseImage)})`);
    expect(steps[3]?.summary).toBe("wait for readiness: ssh");
  });

  it("shows a pull for a named image and refuses what a container cannot be, as create does", () => {
    const named = VMCreateRequest.parse({ name: "p1-x", spec: { memory: 64, vcpus: 1, boot: {}, container: { image: "docker.io/library/alpine:3", command: ["sleep", "inf"] } } });
    const steps = podmanPlanSteps({ tool: "vm_create", request: named }, plan);
    expect(steps[0]?.argv).toEqual(["podman", "pull", "--quiet", "docker.io/library/alpine:3"]);
    expect(steps.at(-1)?.argv?.slice(-3)).toEqual(["docker.io/library/alpine:3", "sleep", "inf"]);
    const uefi = VMCreateRequest.parse({ name: "p1-u", spec: { memory: 64, vcpus: 1, container: {}, boot: { firmware: "uefi" } } });
    expect(() => podmanPlanSteps({ tool: "vm_create", request: uefi }, plan)).toThrow(/containers have no firmware/);
  });

  it("is available only when the podman binary is found", () => {
    expect(podmanDiscovery(plan, { PATH: "/nonexistent" }).available?.()).toEqual({ available: false, reason: "podman is not on PATH; install podman (and netavark)" });
  });
});
