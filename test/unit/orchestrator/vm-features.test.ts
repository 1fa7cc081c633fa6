import { describe, expect, it } from "vitest";
import type { CapabilitiesResponse } from "../../../api/provider.js";
import type { Spec, VMResource } from "../../../api/spec.js";
import { vmFeatureIssues, vmFeaturesUsed } from "../../../src/orchestrator/vm-features.js";

const machine: VMResource = {
  name: "m",
  spec: {
    memory: 512,
    vcpus: 1,
    networks: ["a", "b"],
    disk: { size: "2G" },
    boot: { firmware: "uefi", secureBoot: true, tpm: true, order: ["network", "hd"] },
    cloudInit: { hostname: "m", packages: ["curl"] },
    readiness: { ssh: { enabled: true }, cloudInit: { enabled: false }, tcp: { port: 22 } },
  },
};
const container: VMResource = { name: "c", provider: "pod", spec: { memory: 256, vcpus: 1, container: { image: "localhost/x" }, readiness: { exec: { command: ["true"] } } } };

const capabilities = (providerName: string, vmFeatures: string[] | undefined, requiredVmFeatures?: string[]): CapabilitiesResponse => ({
  providerName,
  version: "0",
  resources: [{ kind: "vm", operations: ["create", "delete"], ...(vmFeatures ? { vmFeatures } : {}), ...(requiredVmFeatures ? { requiredVmFeatures } : {}) }],
});

describe("vmFeaturesUsed", () => {
  it("names every feature a machine VM uses with its field, and skips disabled checks", () => {
    expect(vmFeaturesUsed(machine, 3)).toEqual([
      { feature: "disk", field: "vms[3].spec.disk" },
      { feature: "uefi", field: "vms[3].spec.boot.firmware" },
      { feature: "secureBoot", field: "vms[3].spec.boot.secureBoot" },
      { feature: "tpm", field: "vms[3].spec.boot.tpm" },
      { feature: "pxe", field: "vms[3].spec.boot.order" },
      { feature: "multiNic", field: "vms[3].spec.networks" },
      { feature: "cloudInit.hostname", field: "vms[3].spec.cloudInit.hostname" },
      { feature: "cloudInit.packages", field: "vms[3].spec.cloudInit.packages" },
      { feature: "readiness.ssh", field: "vms[3].spec.readiness.ssh" },
      { feature: "readiness.tcp", field: "vms[3].spec.readiness.tcp" },
    ]);
  });

  it("a container uses the container block and no disk", () => {
    expect(vmFeaturesUsed(container, 0).map((use) => use.feature)).toEqual(["container", "readiness.exec"]);
  });
});

describe("vmFeatureIssues", () => {
  const spec: Spec = { providers: [{ name: "lv", engine: "x", default: true }, { name: "pod", engine: "y" }], vms: [machine, container] };

  it("refuses what a provider does not declare, naming the field and the provider; a prefix covers its sub-features", () => {
    const issues = vmFeatureIssues(spec, (name) =>
      name === "lv" ? capabilities("libvirt", ["disk", "uefi", "secureBoot", "tpm", "pxe", "multiNic", "cloudInit", "readiness"], ["disk"]) : capabilities("podman", ["container", "readiness.ssh"]),
    );
    expect(issues).toEqual([{ field: "vms[1].spec.readiness.exec", message: expect.stringContaining('provider "pod" (podman) does not support VM feature "readiness.exec"') }]);
  });

  it("refuses a VM that lacks a required feature", () => {
    const issues = vmFeatureIssues(spec, (name) => (name === "pod" ? capabilities("libvirt", ["container", "readiness"], ["disk"]) : undefined));
    expect(issues).toEqual([{ field: "vms[1].spec.disk", message: expect.stringContaining("needs vms[1].spec.disk") }]);
  });

  it("does not check providers that declare no vmFeatures", () => {
    expect(vmFeatureIssues(spec, () => capabilities("stub", undefined))).toEqual([]);
  });
});
