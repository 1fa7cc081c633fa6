import type { CapabilitiesResponse } from "../../api/provider.js";
import type { Spec, VMResource } from "../../api/spec.js";
import type { Issue } from "../errors.js";
import { resolveProviderName } from "../spec/validate.js";

// Which optional features a VM's spec uses, so that a provider that cannot serve one is refused before anything
// is created. A provider declares what it supports in capabilities (vm.vmFeatures, where "x" also covers "x.y")
// and what every VM must use (vm.requiredVmFeatures). A provider that declares no vmFeatures is not checked:
// providers written for the original list only kinds and operations.

export interface VmFeatureUse {
  feature: string;
  /** The spec field that uses it, e.g. `vms[0].spec.boot.firmware`. */
  field: string;
}

const CLOUD_INIT_FIELDS = ["hostname", "users", "packages", "runcmd", "writeFiles", "networkConfig"] as const;
const READINESS_FIELDS = ["ssh", "tcp", "cloudInit", "exec"] as const;

/** The features `vm` uses, each with the field that uses it. Pure: reads the spec only. */
export function vmFeaturesUsed(vm: VMResource, index: number): VmFeatureUse[] {
  const at = `vms[${index}].spec`;
  const spec = vm.spec;
  const uses: VmFeatureUse[] = [];
  const use = (feature: string, field: string): void => {
    uses.push({ feature, field: `${at}.${field}` });
  };
  if (spec.disk !== undefined) use("disk", "disk");
  if (spec.container !== undefined) use("container", "container");
  if (spec.boot?.firmware !== undefined) use(spec.boot.firmware, "boot.firmware");
  if (spec.boot?.secureBoot === true) use("secureBoot", "boot.secureBoot");
  if (spec.boot?.tpm === true) use("tpm", "boot.tpm");
  if (spec.boot?.order?.includes("network") === true) use("pxe", "boot.order");
  if ((spec.networks?.length ?? 0) > 1) use("multiNic", "networks");
  if (spec.fixedIPs !== undefined && Object.keys(spec.fixedIPs).length > 0) use("fixedIPs", "fixedIPs");
  for (const field of CLOUD_INIT_FIELDS) {
    if (spec.cloudInit?.[field] !== undefined) use(`cloudInit.${field}`, `cloudInit.${field}`);
  }
  for (const field of READINESS_FIELDS) {
    const check = spec.readiness?.[field];
    // ssh and cloudInit are switched by `enabled`; a block with enabled: false asks for nothing.
    const wanted = check !== undefined && (!("enabled" in check) || check.enabled);
    if (wanted) use(`readiness.${field}`, `readiness.${field}`);
  }
  return uses;
}

function covers(declared: readonly string[], feature: string): boolean {
  return declared.some((name) => feature === name || feature.startsWith(`${name}.`));
}

/** A feature a VM uses that the provider does not declare (unsupported), or one the provider needs and the VM lacks (required). */
export interface VmFeatureGap {
  feature: string;
  field: string;
  gap: "unsupported" | "required";
}

/** The gaps between what `vm` uses and what `capabilities` declare for VMs; none when the provider declares no vm resource. */
export function vmFeatureGaps(vm: VMResource, index: number, capabilities: CapabilitiesResponse): VmFeatureGap[] {
  const declared = capabilities.resources.find((resource) => resource.kind === "vm");
  if (declared === undefined) return [];
  const uses = vmFeaturesUsed(vm, index);
  const gaps: VmFeatureGap[] = [];
  const supported = declared.vmFeatures;
  if (supported !== undefined) {
    for (const { feature, field } of uses) if (!covers(supported, feature)) gaps.push({ feature, field, gap: "unsupported" });
  }
  for (const feature of declared.requiredVmFeatures ?? []) {
    if (!uses.some((use) => covers([feature], use.feature))) gaps.push({ feature, field: `vms[${index}].spec.${feature}`, gap: "required" });
  }
  return gaps;
}

/** NOT_IMPLEMENTED issues for every feature a VM uses that its provider does not declare, or must use and does not. */
export function vmFeatureIssues(spec: Spec, capabilitiesOf: (provider: string) => CapabilitiesResponse | undefined): Issue[] {
  return (spec.vms ?? []).flatMap((vm, index) => {
    const provider = resolveProviderName(spec, vm);
    const capabilities = capabilitiesOf(provider);
    if (capabilities === undefined) return [];
    const who = `provider "${provider}" (${capabilities.providerName})`;
    const supported = capabilities.resources.find((resource) => resource.kind === "vm")?.vmFeatures ?? [];
    return vmFeatureGaps(vm, index, capabilities).map(({ feature, field, gap }) =>
      gap === "unsupported"
        ? { field, message: `${who} does not support VM feature "${feature}" (supported: ${supported.join(", ") || "none"}); remove ${field} or use a provider that has it` }
        : { field, message: `${who} needs ${field} on every VM` },
    );
  });
}
