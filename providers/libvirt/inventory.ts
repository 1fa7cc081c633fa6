import type { LibvirtBackend } from "./backend.js";
import { parseMetadata, type DomainMetadata } from "./vm/metadata.js";

// What exists right now, read from libvirt (never from process memory).

export interface DomainEntry {
  name: string;
  xml: string;
  metadata: DomainMetadata | undefined;
}

export async function allDomains(backend: LibvirtBackend): Promise<DomainEntry[]> {
  const entries: DomainEntry[] = [];
  for (const name of await backend.listDomains()) {
    const xml = await backend.domainXml(name);
    if (xml === undefined) continue; // vanished while we looked
    entries.push({ name, xml, metadata: parseMetadata(xml) });
  }
  return entries;
}

/** Interface sources of a domain: libvirt network names and host bridge names its NICs plug into. */
export function domainNicSources(xml: string): { networks: string[]; bridges: string[] } {
  const networks: string[] = [];
  const bridges: string[] = [];
  for (const match of xml.matchAll(/<interface\b[\s\S]*?<\/interface>/g)) {
    const block = match[0];
    const network = /<source\b[^>]*\bnetwork=['"]([^'"]+)['"]/.exec(block)?.[1];
    const bridge = /<source\b[^>]*\bbridge=['"]([^'"]+)['"]/.exec(block)?.[1];
    if (network) networks.push(network);
    if (bridge) bridges.push(bridge);
  }
  return { networks, bridges };
}

/** Domains that use a network, by our metadata or by their XML (for domains someone else made). */
export async function domainsUsingNetwork(backend: LibvirtBackend, network: string, bridge: string | undefined): Promise<string[]> {
  const users: string[] = [];
  for (const domain of await allDomains(backend)) {
    const sources = domainNicSources(domain.xml);
    const byMetadata = domain.metadata?.networks.includes(network) ?? false;
    const byXml = sources.networks.includes(network) || (bridge !== undefined && sources.bridges.includes(bridge));
    if (byMetadata || byXml) users.push(domain.name);
  }
  return users;
}

export async function domainsUsingKey(backend: LibvirtBackend, key: string): Promise<string[]> {
  return (await allDomains(backend)).filter((d) => d.metadata?.keys.includes(key)).map((d) => d.name);
}
