import type { CapabilitiesResponse, Operation } from "../../api/provider.js";
import type { ResourceKind } from "../../api/spec.js";
import type { Issue } from "../errors.js";
import { supportsIn } from "./client.js";

// Whether declared capabilities cover what a spec asks of a provider. Pure, so that create (started providers) and
// the best-provider choice (capabilities of candidates not started for the create) judge by the same rules.

export interface SupportRequirement {
  provider: string;
  kind: ResourceKind;
  operation: Operation;
  networkKind?: string;
  keyType?: string;
  /** Field path of what needs it, e.g. `networks[2].kind`. */
  resource: string;
}

/** Issues for every requirement its provider does not declare; a provider without capabilities is not declared at all. */
export function supportIssues(requirements: readonly SupportRequirement[], capabilitiesOf: (provider: string) => CapabilitiesResponse | undefined): Issue[] {
  const issues: Issue[] = [];
  for (const requirement of requirements) {
    const capabilities = capabilitiesOf(requirement.provider);
    if (capabilities === undefined) {
      issues.push({ field: requirement.resource, message: `provider "${requirement.provider}" is not declared in spec.providers` });
      continue;
    }
    if (supportsIn(capabilities, requirement.kind, requirement.operation, detailOf(requirement))) continue;
    issues.push({ field: requirement.resource, message: unsupportedMessage(requirement, capabilities) });
  }
  return issues;
}

/** The short name of what is missing: `vm`, `network:nat`, `key:rsa` (the words of `doctor --need`). */
export function missingWord(requirement: SupportRequirement, capabilities: CapabilitiesResponse): string {
  if (!supportsIn(capabilities, requirement.kind, requirement.operation)) return `${requirement.kind} ${requirement.operation}`;
  if (requirement.networkKind !== undefined) return `network:${requirement.networkKind}`;
  return `key:${requirement.keyType ?? "?"}`;
}

function detailOf(requirement: SupportRequirement): { networkKind?: string; keyType?: string } {
  return {
    ...(requirement.networkKind !== undefined ? { networkKind: requirement.networkKind } : {}),
    ...(requirement.keyType !== undefined ? { keyType: requirement.keyType } : {}),
  };
}

function unsupportedMessage(requirement: SupportRequirement, capabilities: CapabilitiesResponse): string {
  const who = `provider "${requirement.provider}" (${capabilities.providerName})`;
  if (!supportsIn(capabilities, requirement.kind, requirement.operation)) {
    return `${who} does not support ${requirement.operation} for ${requirement.kind} resources; use a provider that does`;
  }
  const resource = capabilities.resources.find((r) => r.kind === requirement.kind);
  if (requirement.networkKind !== undefined && resource?.networkKinds !== undefined) {
    return `${who} does not support network kind "${requirement.networkKind}" (supported: ${resource.networkKinds.join(", ")})`;
  }
  return `${who} does not support key type "${requirement.keyType}" (supported: ${resource?.keyTypes?.join(", ") ?? "none declared"})`;
}
