import type { CapabilitiesResponse } from "../../api/provider.js";

// A need is a word a provider's capabilities must contain: a resource kind (vm, network, key), a VM feature
// (uefi, tpm, pxe, multiNic, readiness.ssh, container, ...), a network kind (nat, dnsmasq) or a key type (rsa).
// Network kinds and key types may also be written qualified: network:nat, key:rsa.

/** Everything the provider says it can do, lower-cased, in the words needs are written in. */
export function capabilityWords(capabilities: CapabilitiesResponse): Set<string> {
  const words = new Set<string>();
  for (const resource of capabilities.resources) {
    words.add(resource.kind);
    for (const feature of resource.vmFeatures ?? []) words.add(feature.toLowerCase());
    for (const kind of resource.networkKinds ?? []) words.add(kind.toLowerCase()).add(`network:${kind.toLowerCase()}`);
    for (const type of resource.keyTypes ?? []) words.add(type.toLowerCase()).add(`key:${type.toLowerCase()}`);
  }
  return words;
}

/** The needs these capabilities do not cover, in the order given. */
export function unmetNeeds(capabilities: CapabilitiesResponse, needs: readonly string[]): string[] {
  const words = capabilityWords(capabilities);
  return needs.filter((need) => !words.has(need.trim().toLowerCase()));
}

/** `uefi,tpm, pxe` → ["uefi", "tpm", "pxe"]. */
export function parseNeeds(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((need) => need.trim())
    .filter((need) => need !== "");
}
