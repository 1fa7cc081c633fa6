import type { Spec } from "../../api/spec.js";
import { TestenvError, formatIssues } from "../errors.js";
import type { ProviderManager, SupportRequirement } from "../provider/manager.js";
import { resolveProviderName } from "../spec/validate.js";
import { vmFeatureIssues } from "./vm-features.js";

/** What the providers must support for this spec: create and delete of every key type, network kind and VM. */
export function capabilityRequirements(spec: Spec): SupportRequirement[] {
  const requirements: SupportRequirement[] = [];
  const both = (base: Omit<SupportRequirement, "operation">): void => {
    requirements.push({ ...base, operation: "create" }, { ...base, operation: "delete" });
  };
  (spec.keys ?? []).forEach((key, i) => both({ provider: resolveProviderName(spec, key), kind: "key", keyType: key.spec.type.toLowerCase(), resource: `keys[${i}]` }));
  (spec.networks ?? []).forEach((network, i) => both({ provider: resolveProviderName(spec, network), kind: "network", networkKind: network.kind, resource: `networks[${i}]` }));
  (spec.vms ?? []).forEach((vm, i) => both({ provider: resolveProviderName(spec, vm), kind: "vm", resource: `vms[${i}]` }));
  return requirements;
}

/** Before anything exists: NOT_IMPLEMENTED naming every kind, network kind, key type or VM feature a started provider lacks. */
export function assertProvidersServe(spec: Spec, providers: ProviderManager, what: string): void {
  const unsupported = [
    ...providers.checkSupport(capabilityRequirements(spec)),
    ...vmFeatureIssues(spec, (name) => (providers.has(name) ? providers.get(name).capabilities : undefined)),
  ];
  if (unsupported.length > 0) {
    throw new TestenvError("NOT_IMPLEMENTED", `the providers cannot create this environment${what}:\n${formatIssues(unsupported)}`, { issues: unsupported });
  }
}
