import { el, unescapeXml, type XmlElement } from "../xml.js";

// Domains defined from a manifest carry this record in <metadata>, in a namespace of its own: the environment
// sweeper (which looks for the vm record) never takes them for test VMs, and prune removes only domains whose
// record names the same manifest.

export const MANIFEST_METADATA_NS = "https://testenv-vm.dev/xmlns/vm-manifest/1";
const TAG = "machine";
const PREFIX = "testenv-manifest";

export interface MachineMetadata {
  version: 1;
  /** Absolute path of the manifest that declares the domain. */
  manifest: string;
  /** The disk, so prune --remove-storage knows what to delete. */
  disk: string;
}

export function machineMetadataElement(metadata: MachineMetadata): XmlElement {
  return el("metadata", {}, el(`${PREFIX}:${TAG}`, { [`xmlns:${PREFIX}`]: MANIFEST_METADATA_NS }, JSON.stringify(metadata)));
}

/** Our record in a domain's XML, whatever namespace prefix libvirt wrote back; undefined for domains not ours. */
export function parseMachineMetadata(domainXml: string): MachineMetadata | undefined {
  const ns = MANIFEST_METADATA_NS.replace(/[.]/g, "\\.");
  const pattern = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${TAG}\\b[^>]*xmlns(?::[\\w.-]+)?=["']${ns}["'][^>]*>([\\s\\S]*?)</(?:[\\w.-]+:)?${TAG}>`);
  const body = pattern.exec(domainXml)?.[1];
  if (body === undefined) return undefined;
  try {
    const parsed = JSON.parse(unescapeXml(body.trim())) as Partial<MachineMetadata>;
    if (parsed.version !== 1 || typeof parsed.manifest !== "string" || typeof parsed.disk !== "string") return undefined;
    return { version: 1, manifest: parsed.manifest, disk: parsed.disk };
  } catch {
    return undefined;
  }
}
