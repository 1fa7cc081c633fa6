import { describe, expect, it } from "vitest";
import type { ProviderVMSpec } from "../../../api/provider.js";
import { lostNamespaceHint } from "../../../providers/podman/cli.js";
import { containersConf, storageConf } from "../../../providers/podman/conf-files.js";
import { resolveConfig } from "../../../providers/podman/config.js";
import { unsupportedField } from "../../../providers/podman/containers.js";
import { chooseRuntime, parseCapEff, parseHardLimit, type HostFacts } from "../../../providers/podman/host.js";
import { baseImageTag, mmdebstrapArgs } from "../../../providers/podman/image.js";
import { renderInitScript, shQuote } from "../../../providers/podman/init-script.js";
import { baseLabels, resourceName } from "../../../providers/podman/labels.js";
import { networkCreateArgs } from "../../../providers/podman/networks.js";
import { attachedNetworkDefinition, keeperName } from "../../../providers/podman/attached-network.js";
import { createLogger } from "../../../lib/log.js";

const ours: HostFacts = { hybridCgroups: true, canRaiseRlimits: false, hardNofile: 20000, hardNproc: 96364, systemd: false };
const normal: HostFacts = { hybridCgroups: false, canRaiseRlimits: true, hardNofile: 1_048_576, hardNproc: undefined, systemd: true };

const context = (config: Record<string, unknown> = {}) => ({ config, configName: undefined, testID: "t1", prefix: "p1", artifactDir: undefined, stateDir: undefined, log: createLogger("test") });

describe("host detection", () => {
  it("reads CapEff and hard limits", () => {
    expect(parseCapEff("Name:\tx\nCapEff:\t000001fffeffffff\n")).toBe(0x1fffeffffffn);
    const limits = "Limit                     Soft Limit           Hard Limit           Units\nMax processes             96364                96364                processes\nMax open files            20000                20000                files\n";
    expect(parseHardLimit(limits, "Max open files")).toBe(20000);
    expect(parseHardLimit(limits, "Max processes")).toBe(96364);
    expect(parseHardLimit("Max open files unlimited unlimited files", "Max open files")).toBeUndefined();
  });

  it("on a host like ours: runc, cgroupfs, file events, ulimits within the hard limits and conmon's nproc", () => {
    expect(chooseRuntime(ours)).toEqual({ runtime: "runc", cgroupManager: "cgroupfs", eventsLogger: "file", ulimits: ["nofile=20000:20000", "nproc=32768:32768"] });
  });

  it("on a normal systemd host: podman's own runtime and ulimits, systemd and journald", () => {
    expect(chooseRuntime(normal)).toEqual({ runtime: undefined, cgroupManager: "systemd", eventsLogger: "journald", ulimits: [] });
  });

  it("config wins over detection, and the files keep everything under the root", () => {
    const config = resolveConfig(context({ root: "/r", runtime: "crun", ulimits: ["nofile=10:10"] }), ours, {});
    expect(config).toMatchObject({ root: "/r", storageRoot: "/r/storage", runRoot: "/r/run", networkConfigDir: "/r/networks", runtime: "crun", cgroupManager: "cgroupfs", ulimits: ["nofile=10:10"] });
    const conf = containersConf(config);
    expect(conf).toContain('runtime = "crun"');
    expect(conf).toContain('default_ulimits = ["nofile=10:10"]');
    expect(conf).toContain('events_logfile_path = "/r/events.log"');
    expect(conf).toContain('network_config_dir = "/r/networks"');
    expect(storageConf(config)).toBe('[storage]\ndriver = "overlay"\ngraphroot = "/r/storage"\nrunroot = "/r/run"\n');
    expect(resolveConfig(context(), ours, { TESTENV_VM_PODMAN_ROOT: "/cache" }).root).toBe("/cache");
  });
});

describe("base image", () => {
  it("is named by a hash of its recipe", () => {
    const a = baseImageTag({ suite: "bookworm", mirror: "http://deb.debian.org/debian" });
    expect(a).toMatch(/^localhost\/testenv-vm-base:[0-9a-f]{16}$/);
    expect(baseImageTag({ suite: "trixie", mirror: "http://deb.debian.org/debian" })).not.toBe(a);
    expect(mmdebstrapArgs({ suite: "bookworm", mirror: "http://m" }, "/o.tar")).toEqual(expect.arrayContaining(["--variant=minbase", "--include=openssh-server,python3,sudo", "bookworm", "/o.tar", "http://m"]));
  });
});

describe("labels", () => {
  it("carry managed-by, testID, prefix and the logical name", () => {
    expect(baseLabels({ testID: "t1", prefix: "p1" }, "p1-web")).toEqual({ "managed-by": "testenv-vm", "testenv-vm.test-id": "t1", "testenv-vm.prefix": "p1", "testenv-vm.resource": "web" });
    expect(resourceName("other", "p1")).toBe("other");
  });
});

describe("init script", () => {
  it("creates users idempotently with their keys and sudo rules, quoted, then execs the command", () => {
    const script = renderInitScript([{ name: "dev", sudo: "ALL=(ALL) NOPASSWD:ALL", authorizedKeys: ["ssh-ed25519 AAAA it's me"] }]);
    expect(script).toContain("id -u 'dev' >/dev/null 2>&1 || useradd -m -d '/home/dev' -s '/bin/sh' 'dev'");
    expect(script).toContain(`printf '%s\\n' 'ssh-ed25519 AAAA it'"'"'s me' > '/home/dev/.ssh/authorized_keys'`);
    expect(script).toContain("'dev ALL=(ALL) NOPASSWD:ALL' > '/etc/sudoers.d/testenv-dev'");
    expect(script.trimEnd().endsWith('exec "$@"')).toBe(true);
    expect(shQuote("a'b")).toBe(`'a'"'"'b'`);
  });
});

describe("what a container refuses", () => {
  const base: ProviderVMSpec = { memory: 128, vcpus: 1, networks: [], boot: { order: ["hd"] } };
  it("names the field", () => {
    expect(unsupportedField(base)).toBeUndefined();
    expect(unsupportedField({ ...base, disk: { size: "1G" } })?.message).toMatch(/^spec\.disk: .*not applicable/);
    expect(unsupportedField({ ...base, boot: { order: ["network"] } })?.message).toMatch(/^spec\.boot\.order/);
    expect(unsupportedField({ ...base, cloudInit: { packages: ["x"] } })).toMatchObject({ code: "NOT_IMPLEMENTED", message: expect.stringMatching(/^spec\.cloudInit\.packages/) });
    expect(unsupportedField({ ...base, readiness: { cloudInit: { enabled: true } } })?.message).toMatch(/^spec\.readiness\.cloudInit/);
  });

  it("networks: subnet and gateway from the cidr, internal for isolated", () => {
    const args = networkCreateArgs({ name: "p1-n", kind: "isolated", spec: { cidr: "10.5.6.1/24" } }, { "managed-by": "testenv-vm" });
    expect(args).toEqual(["network", "create", "--driver", "bridge", "--label", "managed-by=testenv-vm", "--label", "testenv-vm.kind=isolated", "--subnet", "10.5.6.0/24", "--gateway", "10.5.6.1", "--internal", "p1-n"]);
    expect(() => networkCreateArgs({ name: "n", kind: "bridge", spec: { dhcp: {} } }, {})).toThrow(/spec\.dhcp/);
  });

  it("a network attached to an existing bridge: podman's definition naming that bridge, internal, with a keeper tap", () => {
    const keeper = keeperName("p1-lan", "p1");
    expect(keeper).toMatch(/^p1-k[0-9a-f]{4}$/);
    expect(keeperName("p1-lan", "p1")).toBe(keeper);
    expect(keeperName("abcdef12-lan", "abcdef12345").length).toBeLessThanOrEqual(15);
    const definition = attachedNetworkDefinition({ name: "p1-lan", kind: "bridge", spec: { cidr: "10.5.6.1/24", attachTo: "br0", mtu: 1400 } }, { "managed-by": "testenv-vm" }, keeper, undefined, new Date(0));
    expect(definition).toMatchObject({
      name: "p1-lan",
      driver: "bridge",
      network_interface: "br0",
      created: "1970-01-01T00:00:00.000Z",
      subnets: [{ subnet: "10.5.6.0/24", gateway: "10.5.6.1" }],
      internal: true,
      dns_enabled: false,
      options: { mtu: "1400" },
      labels: { "managed-by": "testenv-vm", "testenv-vm.kind": "bridge", "testenv-vm.attached-to": "br0", "testenv-vm.keeper": keeper },
    });
    expect(definition.id).toMatch(/^[0-9a-f]{64}$/);
    // Without a cidr, the subnet is the bridge's own: its address is the gateway the allocator keeps off.
    expect(attachedNetworkDefinition({ name: "n", kind: "bridge", spec: { attachTo: "br0" } }, {}, keeper, "192.168.1.7/24").subnets).toEqual([{ subnet: "192.168.1.0/24", gateway: "192.168.1.7" }]);
    expect(() => attachedNetworkDefinition({ name: "n", kind: "bridge", spec: { attachTo: "br0" } }, {}, keeper)).toThrow(/spec\.cidr: bridge br0 has no IPv4 address/);
  });
});

describe("podman failures", () => {
  it("names the container whose network namespace is gone and the three commands that fix it", () => {
    const id = "9b0359dff23c45c8784ea14795daa21d761e93886e56669704da7eb61f8eca83";
    const stderr = `Error: joining network namespace of container ${id}: retrieving network namespace at /run/netns/netns-e2e1f9cd-47e1: failed to Statfs "/run/netns/netns-e2e1f9cd-47e1": no such file or directory`;
    const hint = lostNamespaceHint(stderr);
    expect(hint).toContain("container 9b0359dff23c as running");
    expect(hint).toContain("`ip netns add netns-e2e1f9cd-47e1`, then `podman rm --force 9b0359dff23c`, then `ip netns delete netns-e2e1f9cd-47e1`");
    expect(lostNamespaceHint("Error: no such container pdddce33-vm")).toBe("");
  });
});
