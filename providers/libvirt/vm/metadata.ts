import type { z } from "zod";
import type { ReadinessSpec } from "../../../api/spec.js";
import { el, unescapeXml, type XmlElement } from "../xml.js";

// Every domain we define carries this record in <metadata>: who owns it (testID, prefix) and every path
// delete needs, so a fresh process (or a human with virsh) can always find and remove what it left.

export const METADATA_NS = "https://testenv-vm.dev/xmlns/libvirt-provider/1";
const TAG = "vm";
const PREFIX = "testenv";

export type Readiness = z.infer<typeof ReadinessSpec>;

export interface DomainMetadata {
  version: 1;
  name: string;
  testID?: string;
  prefix?: string;
  /** The environment's state dir (for gc: its state file tells whether the environment is gone). */
  stateDir?: string;
  /** Written by providers before plans existed; new domains carry none, so their XML is the same every time. */
  createdAt?: string;
  accelerator: "kvm" | "tcg";
  vmDir: string;
  disk: string;
  seedIso?: string;
  nvram?: string;
  consoleLog: string;
  /** Provider-level network names, one per NIC, in order. */
  networks: string[];
  macs: string[];
  /** Key names whose public key is in the user-data. */
  keys: string[];
  sshUser?: string;
  privateKeyPath?: string;
  staticIps: (string | null)[];
  /**
   * The readiness checks the VM was created with, so vm_start can wait for them again. Absent in domains
   * made before vm_start existed: those only wait for an address.
   */
  readiness?: Readiness;
}

export function metadataElement(metadata: DomainMetadata): XmlElement {
  return el(
    "metadata",
    {},
    el(`${PREFIX}:${TAG}`, { [`xmlns:${PREFIX}`]: METADATA_NS, testID: metadata.testID, prefix: metadata.prefix }, JSON.stringify(metadata)),
  );
}

/** Finds our record in a domain's XML, whatever namespace prefix libvirt wrote back. */
export function parseMetadata(domainXml: string): DomainMetadata | undefined {
  const pattern = new RegExp(`<(?:([A-Za-z_][\\w.-]*):)?${TAG}\\b[^>]*xmlns(?::[\\w.-]+)?=["']${METADATA_NS.replace(/[.]/g, "\\.")}["'][^>]*>([\\s\\S]*?)</(?:[\\w.-]+:)?${TAG}>`);
  const body = pattern.exec(domainXml)?.[2];
  if (body === undefined) return undefined;
  try {
    const parsed = JSON.parse(unescapeXml(body.trim())) as DomainMetadata;
    return parsed.version === 1 && typeof parsed.name === "string" ? parsed : undefined;
  } catch {
    return undefined;
  }
}
