import { describe, expect, it } from "vitest";
import type { CapabilitiesResponse } from "../../../api/provider.js";
import type { Spec } from "../../../api/spec.js";
import { TestenvError } from "../../../src/errors.js";
import { chooseProvider, lacksFor, specNeeds } from "../../../src/orchestrator/provider-choice.js";
import { inPreferenceOrder, providerPreference } from "../../../src/provider/preference.js";
import type { ProviderReport } from "../../../src/provider/registry.js";
import { validateEarly } from "../../../src/spec/validate.js";

const ops = ["create", "get", "list", "delete"] as const;

/** Capability answers shaped like the bundled providers', written down here so the test fixes the rules, not them. */
const machine: CapabilitiesResponse = {
  providerName: "libvirt",
  version: "1",
  resources: [
    { kind: "key", operations: [...ops], keyTypes: ["ed25519", "rsa"] },
    { kind: "network", operations: [...ops], networkKinds: ["nat", "bridge", "dnsmasq"] },
    { kind: "vm", operations: [...ops], vmFeatures: ["disk", "bios", "uefi", "tpm", "readiness.ssh"], requiredVmFeatures: ["disk"] },
  ],
};
const containers: CapabilitiesResponse = {
  providerName: "podman",
  version: "1",
  resources: [
    { kind: "key", operations: [...ops], keyTypes: ["ed25519"] },
    { kind: "network", operations: [...ops], networkKinds: ["bridge"] },
    { kind: "vm", operations: [...ops], vmFeatures: ["container", "readiness.ssh"] },
  ],
};
const simulated: CapabilitiesResponse = { ...machine, providerName: "stub", resources: machine.resources.map((r) => ({ ...r, requiredVmFeatures: [] })), simulated: true };

function report(name: string, capabilities: CapabilitiesResponse, extra: Partial<ProviderReport> = {}): ProviderReport {
  return { name, engine: `testenv-vm-provider-${name}`, source: "bundled", outcome: "ok", available: true, healthy: true, capabilities, ms: 1, ...extra };
}

const uefiSpec: Spec = {
  pickProvider: true,
  keys: [{ name: "k", spec: { type: "ed25519" } }],
  networks: [{ name: "n", kind: "nat", spec: { cidr: "10.1.2.0/24" } }],
  vms: [{ name: "m", spec: { memory: 512, vcpus: 1, networks: ["n"], disk: { size: "2G" }, boot: { firmware: "uefi" } } }],
};
const containerSpec: Spec = { pickProvider: true, vms: [{ name: "c", spec: { memory: 256, vcpus: 1, container: {} } }] };
const registry = [report("libvirt", machine), report("podman", containers), report("stub", simulated)];

describe("the needs of a spec", () => {
  it("are the kinds, network kinds, key types and VM features it uses", () => {
    expect(specNeeds(uefiSpec)).toEqual(["disk", "key:ed25519", "network:nat", "uefi", "vm"]);
    expect(specNeeds(containerSpec)).toEqual(["container", "vm"]);
  });

  it("that a provider lacks are named in the same words", () => {
    expect(lacksFor(uefiSpec, "podman", containers)).toEqual(["network:nat", "disk", "uefi"]);
    expect(lacksFor(containerSpec, "libvirt", machine)).toEqual(["container", "disk on every VM (required)"]);
  });
});

describe("the best provider", () => {
  it("is libvirt for a UEFI machine and podman for a container, whatever the registry order", () => {
    expect(chooseProvider(uefiSpec, registry, []).provider).toBe("libvirt");
    expect(chooseProvider(containerSpec, registry, []).provider).toBe("podman");
    expect(chooseProvider(containerSpec, [...registry].reverse(), []).provider).toBe("podman");
  });

  it("says why, naming the order, the needs and what was passed over", () => {
    const choice = chooseProvider(containerSpec, registry, []);
    expect(choice).toMatchObject({ provider: "podman", engine: "testenv-vm-provider-podman", needs: ["container", "vm"] });
    expect(choice.rejected).toEqual([{ name: "libvirt", why: "lacks container, disk on every VM (required)" }]);
    expect(choice.reason).toBe("first healthy provider in registry order libvirt, podman, stub that serves container, vm; passed over: libvirt (lacks container, disk on every VM (required))");
  });

  it("follows the preference order first", () => {
    const both = report("other", machine);
    expect(chooseProvider(uefiSpec, [...registry, both], ["other"]).provider).toBe("other");
    expect(chooseProvider(uefiSpec, [...registry, both], ["other"]).reason).toContain("TESTENV_VM_PROVIDER_PREFERENCE order other, libvirt, podman, stub");
  });

  it("never takes a simulated provider unless the preference names it", () => {
    const noMachines = [report("podman", containers), report("stub", simulated)];
    expect(() => chooseProvider(uefiSpec, noMachines, [])).toThrow(/stub: simulated \(creates nothing real\); name it in TESTENV_VM_PROVIDER_PREFERENCE/);
    expect(chooseProvider(uefiSpec, registry, ["stub"]).provider).toBe("stub");
    expect(chooseProvider(uefiSpec, noMachines, ["podman", "stub"]).provider).toBe("stub");
  });

  it("skips what is unavailable, unhealthy, timed out or broken, saying so", () => {
    const sick = [
      report("libvirt", machine, { healthy: false, health: { healthy: false, versions: {}, tools: [], disks: [], running: {}, warnings: [{ message: "libvirtd is not running", fix: "systemctl start libvirtd" }] } }),
      report("gone", machine, { available: false, availableReason: "virsh not found" }),
      report("slow", machine, { outcome: "timed out", healthy: false, error: "no answer within 20000 ms" }),
      report("unknown", machine, { healthy: "unknown", available: "unknown" }),
    ];
    const choice = chooseProvider(uefiSpec, sick, []);
    expect(choice.provider).toBe("unknown");
    // What a plan holds stays the same from run to run; the providers' own words go to the log.
    expect(choice.rejected.map((r) => `${r.name}: ${r.why}`)).toEqual(["libvirt: not healthy", "gone: not available", "slow: timed out"]);
    expect(choice.details).toEqual([
      "libvirt: not healthy: libvirtd is not running (fix: systemctl start libvirtd)",
      "gone: not available: virsh not found",
      "slow: timed out: no answer within 20000 ms",
    ]);
    expect(() => chooseProvider(uefiSpec, sick.slice(0, 3), [])).toThrow(/libvirt: not healthy: libvirtd is not running \(fix: systemctl start libvirtd\)/);
  });

  it("none fitting is NOT_IMPLEMENTED listing what each candidate lacks", () => {
    const both: Spec = { pickProvider: true, vms: [{ name: "x", spec: { memory: 256, vcpus: 1, container: {}, boot: { tpm: true } } }] };
    let thrown: unknown;
    try {
      chooseProvider(both, registry, []);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TestenvError);
    const error = thrown as TestenvError;
    expect(error.code).toBe("NOT_IMPLEMENTED");
    expect(error.issues.map((issue) => issue.message)).toEqual([
      "libvirt: lacks container, disk on every VM (required)",
      "podman: lacks tpm",
      "stub: simulated (creates nothing real); name it in TESTENV_VM_PROVIDER_PREFERENCE to use it",
    ]);
    expect(error.message).toContain("the spec names no provider, and none serves what it uses (container, tpm, vm); nothing was created");
  });

  it("with no candidate at all says none was found", () => {
    expect(() => chooseProvider(uefiSpec, [], [])).toThrow(/no provider was found/);
  });
});

describe("the preference", () => {
  it("is read from TESTENV_VM_PROVIDER_PREFERENCE, trimmed, without repeats", () => {
    expect(providerPreference({ TESTENV_VM_PROVIDER_PREFERENCE: " podman, libvirt,,podman " })).toEqual(["podman", "libvirt"]);
    expect(providerPreference({})).toEqual([]);
  });

  it("puts the named first and keeps the rest in registry order", () => {
    const names = inPreferenceOrder([{ name: "a" }, { name: "b" }, { name: "c" }, { name: "d" }], ["c", "zzz", "a"]).map((x) => x.name);
    expect(names).toEqual(["c", "a", "b", "d"]);
  });
});

describe("a spec with pickProvider: true", () => {
  it("is valid, and naming a provider in it is not", () => {
    expect(validateEarly(containerSpec)).toEqual([]);
    const named: Spec = { ...containerSpec, defaultProvider: "podman", vms: [{ name: "c", provider: "podman", spec: { memory: 256, vcpus: 1, container: {} } }] };
    expect(validateEarly(named).map((issue) => issue.field)).toEqual(["defaultProvider", "vms[0].provider"]);
  });

  it("is the only way to list none: a missing list is refused, and so is a list next to pickProvider", () => {
    const { pickProvider: _asked, ...forgotten } = containerSpec;
    expect(validateEarly(forgotten).map((issue) => issue.field)).toEqual(["providers"]);
    expect(validateEarly({ ...containerSpec, providers: [{ name: "p", engine: "e" }] }).map((issue) => issue.field)).toEqual(["pickProvider"]);
  });
});
